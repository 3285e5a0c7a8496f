import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../balancer/types.ts';
import { Cluster, homeConfig, seedFlat, seedHosts, seedVms } from './cluster.ts';

const moves = (plan: Plan): string[] => plan.migrations.map((m) => `${m.vm}:${m.from}->${m.to}:${m.kind}`);
const hot = { server1: 80, server2: 45, server3: 50 }; // kvmnode1 at 87.5 %
const hotter = { server1: 95, server2: 45, server3: 70 };
const calm = { server1: 20, server2: 20, server3: 20 };

describe('strategy home: the seed scenario', () => {
  it.each([
    { max: 1, cooldown: 120, returns: [['server2:kvmnode2->kvmnode1:remigrate'], ['server3:kvmnode3->kvmnode1:remigrate']] },
    { max: 2, cooldown: 120, returns: [['server2:kvmnode2->kvmnode1:remigrate', 'server3:kvmnode3->kvmnode1:remigrate'], []] },
  ])('overload -> kvmnode2, still overloaded -> kvmnode3, calm -> home (max $max per run)', ({ max, cooldown, returns }) => {
    const c = new Cluster(seedHosts, seedVms, homeConfig({ maxMigrationsPerRun: max, cooldown }));
    const first = c.step(hot);
    expect(first.migrations).toEqual([]);
    expect(first.reasons.join('\n')).toMatch(/kvmnode1 at 88 % > 80 % but only 1 of the last 2 measurements: waiting/);
    const second = c.step(hot);
    expect(moves(second)).toEqual(['server2:kvmnode1->kvmnode2:migrate']);
    expect(second.migrations[0]?.reason).toMatch(/kvmnode1 at 88 % .* server2 .* brings it to 65 %/);
    expect(moves(c.step({ ...hotter, server2: 45 }))).toEqual(['server3:kvmnode1->kvmnode3:migrate']);
    // calm: with the VM back the home must stay below `low` for calmWindow (3)
    // measurements and under `high` for 2 × calmWindow (6)
    const waiting = [1, 2, 3, 4, 5].map(() => c.step(calm));
    for (const plan of waiting) {
      expect(plan.migrations).toEqual([]);
      expect(plan.reasons.join('\n')).toMatch(/stays on kvmnode\d: kvmnode1 with it back would be at/);
    }
    expect(waiting[1]?.reasons.join('\n')).toMatch(/not below 50 % for the last 3 measurements/);
    expect(waiting[4]?.reasons.join('\n')).toMatch(/but not under 80 % for the last 6 measurements/);
    const back1 = c.step(calm);
    expect(moves(back1)).toEqual(returns[0]);
    if (max === 1) expect(back1.reasons.join('\n')).toMatch(/limit of 1 migration\(s\) per run reached; 1 more wanted/);
    expect(moves(c.step(calm))).toEqual(returns[1]);
    expect([...c.where.values()]).toEqual(['kvmnode1', 'kvmnode1', 'kvmnode1']);
  });
});

describe('strategy home: refusals and special hosts', () => {
  const twice = (c: Cluster, load: Record<string, number>): Plan => {
    c.step(load);
    return c.step(load);
  };
  it.each([
    {
      name: 'helper without the memory is skipped for the next helper',
      hosts: [{ name: 'kvmnode1' }, { name: 'kvmnode2', memTotal: 1536 }, { name: 'kvmnode3' }],
      vms: seedVms,
      config: {},
      want: ['server2:kvmnode1->kvmnode3:migrate'],
      reason: undefined,
    },
    {
      name: 'no helper with the memory: nothing, and why',
      hosts: [{ name: 'kvmnode1' }, { name: 'kvmnode2', memTotal: 1536 }, { name: 'kvmnode3', memTotal: 1536 }],
      vms: seedVms,
      config: {},
      want: [],
      reason: /no helper can take a VM: .*kvmnode2 has 768 MiB free after margin, server\d needs 1024 MiB/,
    },
    {
      name: 'unreachable helper neither gives nor receives',
      hosts: [{ name: 'kvmnode1' }, { name: 'kvmnode2', reachable: false }, { name: 'kvmnode3' }],
      vms: seedVms,
      config: {},
      want: ['server2:kvmnode1->kvmnode3:migrate'],
      reason: /kvmnode2 is unreachable: it neither gives nor receives this run/,
    },
    {
      name: 'pinned VM never moves: the next best goes',
      hosts: seedHosts,
      vms: seedVms.map((vm) => (vm.name === 'server2' ? { ...vm, pinned: true } : vm)),
      config: {},
      want: ['server3:kvmnode1->kvmnode2:migrate'],
      reason: undefined,
    },
    {
      name: 'every VM pinned: nothing, and why',
      hosts: seedHosts,
      vms: seedVms,
      config: { pinned: ['server1', 'server2', 'server3'] },
      want: [],
      reason: /no VM may move: server1 is pinned; server2 is pinned; server3 is pinned/,
    },
    {
      name: 'helper that would pass `high` is refused',
      hosts: [{ name: 'kvmnode1' }, { name: 'kvmnode2', base: 130 }, { name: 'kvmnode3' }],
      vms: seedVms,
      config: {},
      want: ['server2:kvmnode1->kvmnode3:migrate'],
      reason: undefined,
    },
  ])('$name', ({ hosts, vms, config, want, reason }) => {
    const c = new Cluster(hosts, vms, homeConfig({ ...config }));
    const plan = twice(c, hot);
    expect(moves(plan)).toEqual(want);
    if (reason) expect(plan.reasons.join('\n')).toMatch(reason);
    for (const m of plan.migrations) expect(m.reason.length).toBeGreaterThan(20);
  });

  it('a drained host is emptied (home first) and receives nothing', () => {
    const c = new Cluster(
      [{ name: 'kvmnode1' }, { name: 'kvmnode2' }, { name: 'kvmnode3', drained: true }],
      [...seedVms, { name: 'server4', host: 'kvmnode3', home: 'kvmnode2' }, { name: 'server5', host: 'kvmnode3', pinned: true }],
      homeConfig({ maxMigrationsPerRun: 5 }),
    );
    const load = { ...hot, server4: 10, server5: 10 };
    const first = c.step(load);
    expect(moves(first)).toEqual(['server4:kvmnode3->kvmnode2:drain']);
    expect(first.migrations[0]?.reason).toBe('kvmnode3 is drained; server4 goes to its home kvmnode2 (5 % after)');
    expect(first.reasons.join('\n')).toMatch(/kvmnode3 is drained but server5 is pinned: it stays/);
    // kvmnode1 overloaded: kvmnode3 is the emptiest helper but drained, so kvmnode2 takes server2
    expect(moves(c.step(load))).toEqual(['server2:kvmnode1->kvmnode2:migrate']);
  });

  it('nothing to do says so, for every host', () => {
    const c = new Cluster(seedHosts, seedVms);
    const plan = c.step({ server1: 10, server2: 10, server3: 10 });
    expect(plan.migrations).toEqual([]);
    expect(plan.reasons).toContain('kvmnode1 at 15 %, not above 80 %: nothing to relieve');
  });

  it('does not mutate its input', () => {
    const c = new Cluster(seedHosts, seedVms);
    c.step(hot);
    const snap = c.snapshot(hot);
    const copy = JSON.stringify(snap);
    c.step(hot);
    expect(JSON.stringify(snap)).toBe(copy);
  });
});

describe('strategy home: an oscillating load never ping-pongs', () => {
  it.each([
    { name: 'high/low every run', period: 2 },
    { name: 'two runs high, two runs low', period: 4 },
    { name: 'three runs high, three runs low', period: 6 },
    { name: 'five runs high, five runs low', period: 10 },
  ])('$name, 300 runs', ({ period }) => {
    const c = new Cluster(seedHosts, seedVms, homeConfig({ cooldown: 600 }));
    for (let i = 0; i < 300; i++) c.step(i % period < period / 2 ? hotter : calm);
    const byVm = new Map<string, number[]>();
    for (const m of c.moves) byVm.set(m.vm, [...(byVm.get(m.vm) ?? []), m.time]);
    for (const times of byVm.values()) {
      for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(600);
    }
    if (period / 2 < 2 * seedFlat.calmWindow) {
      // calm phases shorter than twice the calm window are not calm: a VM that left stays away
      expect(c.moves.filter((m) => m.kind === 'remigrate')).toEqual([]);
    }
    if (period === 2) expect(c.moves).toEqual([]);
    // a slow oscillation may bring VMs home, but never faster than the oscillation itself:
    // at most one trip out and one back per VM per period
    expect(c.moves.length).toBeLessThanOrEqual(3 + Math.ceil(300 / Math.max(period, 10)) * 2 * 3);
  });
});

describe('strategy home: a short history', () => {
  it('a runtime keeping fewer than 2 × calmWindow measurements still brings VMs home', () => {
    // the test cluster keeps 10 measurements; calmWindow 6 would want 12
    const c = new Cluster(seedHosts, seedVms, homeConfig({ calmWindow: 6, cooldown: 60 }));
    c.step(hot);
    c.step(hot);
    expect(c.where.get('server2')).toBe('kvmnode2');
    let back = -1;
    for (let i = 0; i < 20 && back < 0; i++) if (c.step(calm).migrations.some((m) => m.kind === 'remigrate')) back = i;
    // calm 6 runs (< low), and under `high` for the 10 measurements the history holds
    expect(back).toBeGreaterThanOrEqual(5);
    expect(back).toBeLessThan(12);
  });
});

describe('strategy home: after failed migrations', () => {
  it('a VM that just failed waits (5 min, doubling); the destination that failed is avoided for it (30 min, doubling)', () => {
    const c = new Cluster(seedHosts, seedVms, homeConfig({}));
    c.time = 10_000;
    c.failures = { vms: { server2: [9_900, 1] }, destinations: { 'server2>kvmnode2': [9_900, 1] } };
    c.step(hot);
    // Another VM takes its place: the overload is still relieved.
    expect(moves(c.step(hot))).toEqual(['server3:kvmnode1->kvmnode2:migrate']);
    // With the others pinned, nothing moves, and the plan says why.
    const only = new Cluster(seedHosts, seedVms, homeConfig({ pinned: ['server1', 'server3'] }));
    only.time = 10_000;
    only.failures = c.failures;
    only.step(hot);
    const held = only.step(hot);
    expect(moves(held)).toEqual([]);
    expect(held.reasons.join('\n')).toMatch(/server2 failed to move 1 time in a row: next try in 140 s/);
  });

  it('once the VM may try again, it goes elsewhere than where it failed, and says why', () => {
    const c = new Cluster(seedHosts, seedVms, homeConfig({}));
    c.time = 10_000;
    c.failures = { vms: { server2: [9_000, 1] }, destinations: { 'server2>kvmnode2': [9_000, 2] } };
    c.step(hot);
    const plan = c.step(hot);
    expect(moves(plan)).toEqual(['server2:kvmnode1->kvmnode3:migrate']);
  });
});
