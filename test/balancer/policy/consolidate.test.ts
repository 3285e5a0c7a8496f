import { describe, expect, it } from 'vitest';
import { decide } from '../../../balancer/policy/decide.ts';
import type { HostState, VmState } from '../../../balancer/types.ts';
import { SPREAD } from '../../../balancer/policy/consolidate.ts';
import { consolidateConfig } from './cluster.ts';

const flatSettings = {
  high: 0.8,
  low: 0.3,
  overloadWindow: 2,
  calmWindow: 2,
  cooldown: 900,
  maxMigrationsPerRun: 10,
  pinned: [],
  drained: [],
  memMarginMiB: 0,
};
const config = consolidateConfig(flatSettings);

function host(name: string, used: number, mem = 4096, extra: Partial<HostState> = {}): HostState {
  return { name, reachable: true, drained: false, cpuCapacity: 1000, cpuUsed: used, memTotalMiB: 4096, memAvailableMiB: mem, ...extra };
}
function vm(name: string, on: string, cpu: number, mem = 500, pinned = false): VmState {
  return { name, host: on, home: undefined, cpuUsed: cpu, memMiB: mem, pinned };
}
const flat = (vms: VmState[], n = 2): Map<string, number[]> => new Map(vms.map((v) => [v.name, Array(n).fill(v.cpuUsed)]));

describe('strategy consolidate', () => {
  it.each([
    {
      name: 'overloaded for the window: sheds the VM with least memory that alone brings it under, onto the fullest host that stays under',
      vms: [vm('a1', 'a', 400, 1000), vm('a2', 'a', 300, 600), vm('a3', 'a', 200, 800), vm('b1', 'b', 500), vm('c1', 'c', 350)],
      history: 2,
      want: ['a2:a->b:migrate'],
    },
    {
      name: 'overloaded now only (no sustained window): waits',
      vms: [vm('a1', 'a', 400), vm('a2', 'a', 300), vm('a3', 'a', 200), vm('b1', 'b', 500), vm('c1', 'c', 350)],
      history: 0,
      want: [],
    },
    {
      // a and b could not go (Σ 1250 + the biggest peak 600 > 80 % of the 2,000 left), but a calm
      // host needs no room kept: only that its VMs fit
      name: 'a calm host is emptied onto the others when all its VMs fit',
      vms: [vm('a1', 'a', 500), vm('b1', 'b', 600), vm('c1', 'c', 100), vm('c2', 'c', 50)],
      history: 2,
      want: ['c1:c->b:consolidate', 'c2:c->b:consolidate'],
    },
    {
      name: 'a calm host whose VMs do not all fit is left alone',
      vms: [vm('a1', 'a', 700), vm('b1', 'b', 700), vm('c1', 'c', 200), vm('c2', 'c', 50)],
      history: 2,
      want: [],
    },
    {
      name: 'saturated now (asks more than the host): sheds until it is under high now, not every VM it has',
      vms: [vm('a1', 'a', 600), vm('a2', 'a', 300), vm('a3', 'a', 200), vm('b1', 'b', 100)],
      history: 0,
      want: ['a1:a->b:migrate'],
    },
    {
      name: 'hosts above low are emptied while the others hold their VMs and keep room in total for the biggest VM',
      vms: [vm('a1', 'a', 300), vm('b1', 'b', 300), vm('c1', 'c', 300), vm('d1', 'd', 150), vm('d2', 'd', 150)],
      history: 2,
      // a1 to b (1,200 + 300 ≤ 80 % of 3,000); c1 to d (1,200 + 300 ≤ 80 % of 2,000). No single
      // host could then take a 300 (600 + 300 > 800), but the two keep 400 of room between them:
      // a relief finds its host among them, so a third host is not kept on for it
      want: ['a1:a->b:consolidate', 'c1:c->d:consolidate'],
    },
    {
      name: 'a host above low stays when its VMs would fit but the others would not keep room in total for the biggest VM',
      // c1 would go to a and c2 to b (650 each), but 1,300 + the biggest peak 500 > 80 % of 2,000
      vms: [vm('a1', 'a', 500), vm('b1', 'b', 500), vm('c1', 'c', 150), vm('c2', 'c', 150)],
      history: 2,
      want: [],
    },
    {
      name: 'a host above low stays when the others would not keep room for the biggest VM',
      vms: [vm('a1', 'a', 450), vm('b1', 'b', 450), vm('c1', 'c', 450)],
      history: 2,
      want: [],
    },
    {
      name: 'a pinned VM keeps its calm host on',
      vms: [vm('a1', 'a', 500), vm('b1', 'b', 600), vm('c1', 'c', 100, 500, true)],
      history: 2,
      want: [],
    },
  ])('$name', ({ vms, history, want }) => {
    const hosts = ['a', 'b', 'c', 'd'].map((h) => {
      const mine = vms.filter((v) => v.host === h);
      return host(h, mine.reduce((s, v) => s + v.cpuUsed, 0), 4096 - mine.reduce((s, v) => s + v.memMiB, 0));
    });
    const plan = decide({ time: 10_000, hosts, vms }, config, {
      hostUtilisation: new Map(),
      lastMigration: new Map(),
      vmCpu: flat(vms, history),
    });
    expect(plan.migrations.map((m) => `${m.vm}:${m.from}->${m.to}:${m.kind}`)).toEqual(want);
    expect(plan.reasons.length).toBeGreaterThan(0);
    for (const m of plan.migrations) expect(m.reason).toMatch(/predicted at \d+ % after/);
  });

  it('of two calm hosts that cannot both go, the one that draws more idle watts per unit of capacity is emptied', () => {
    const hungry = [100, 102, 104, 106, 108, 110, 112, 114, 116, 118, 120];
    const frugal = hungry.map((w) => w / 2);
    const vms = [vm('a1', 'a', 550), vm('b1', 'b', 200), vm('c1', 'c', 200)];
    const hosts = [
      host('a', 550, 4096, { powerModel: frugal }),
      host('b', 200, 4096, { powerModel: frugal }),
      host('c', 200, 4096, { powerModel: hungry }),
    ];
    const plan = decide({ time: 10_000, hosts, vms }, config, { hostUtilisation: new Map(), lastMigration: new Map(), vmCpu: flat(vms) });
    expect(plan.migrations.map((m) => `${m.vm}:${m.from}->${m.to}`)).toEqual(['c1:c->a']);
  });

  it('a host is filled only while its mean plus SPREAD (2) standard deviations stays under high', () => {
    // a1 swings between 200 and 600 (mean 400, σ 192): with c1 added, a is predicted at
    // 450 + 2 × 192 = 834 > 800, so c1 goes to b (550); at a spread of 1.5 a (738) is the fuller fit
    const vms = [vm('a1', 'a', 400), vm('b1', 'b', 500), vm('c1', 'c', 50)];
    const hosts = ['a', 'b', 'c'].map((h) => host(h, vms.filter((v) => v.host === h).reduce((s, v) => s + v.cpuUsed, 0)));
    const history = {
      hostUtilisation: new Map(),
      lastMigration: new Map(),
      vmCpu: new Map([
        ['a1', Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 200 : 600))],
        ['b1', Array(12).fill(500)],
        ['c1', Array(12).fill(50)],
      ]),
    };
    expect(SPREAD).toBe(2);
    const plan = decide({ time: 10_000, hosts, vms }, config, history);
    expect(plan.migrations.map((m) => `${m.vm}:${m.from}->${m.to}`)).toEqual(['c1:c->b']);
    const looser = decide({ time: 10_000, hosts, vms }, consolidateConfig({ ...flatSettings, spread: 1.5 }), history);
    expect(looser.migrations.map((m) => `${m.vm}:${m.from}->${m.to}`)).toEqual(['c1:c->a']);
  });

  it('a VM in its cooldown does not move again', () => {
    const vms = [vm('a1', 'a', 500), vm('b1', 'b', 600), vm('c1', 'c', 100)];
    const hosts = ['a', 'b', 'c'].map((h) => host(h, vms.filter((v) => v.host === h).reduce((s, v) => s + v.cpuUsed, 0)));
    const plan = decide({ time: 1000, hosts, vms }, config, {
      hostUtilisation: new Map(),
      lastMigration: new Map([['c1', 500]]),
      vmCpu: flat(vms),
    });
    expect(plan.migrations).toEqual([]);
    expect(plan.reasons.join('\n')).toMatch(/none of the 1 underloaded host\(s\) could be emptied/);
  });
});

describe('consolidate: an oscillating load never ping-pongs', () => {
  it.each([2, 4, 6, 10])('period %i runs, 300 runs', async (period) => {
    const { Cluster } = await import('./cluster.ts');
    const c = new Cluster(
      [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
      [
        { name: 'v1', host: 'a' },
        { name: 'v2', host: 'a' },
        { name: 'v3', host: 'b' },
        { name: 'v4', host: 'c' },
      ],
      consolidateConfig({ ...flatSettings, cooldown: 1200 }),
    );
    for (let i = 0; i < 300; i++) {
      const hot = i % period < period / 2;
      c.step(hot ? { v1: 95, v2: 90, v3: 30, v4: 10 } : { v1: 20, v2: 15, v3: 10, v4: 5 });
    }
    const times = new Map<string, number[]>();
    for (const m of c.moves) times.set(m.vm, [...(times.get(m.vm) ?? []), m.time]);
    for (const list of times.values()) {
      for (let i = 1; i < list.length; i++) expect((list[i] ?? 0) - (list[i - 1] ?? 0)).toBeGreaterThanOrEqual(1200);
    }
    // 300 runs of 60 s with a 1200 s cooldown: at most one move per VM per 20 runs
    expect(c.moves.length).toBeLessThanOrEqual(4 * 15);
  });
});

describe('consolidate: a cooldown that grows with a VM\'s recent reliefs', async () => {
  const { cooldownOf, countsTowardCooldown } = await import('../../../balancer/policy/consolidate.ts');
  const s = { high: 0.8, low: 0.3, overloadWindow: 2, calmWindow: 2, cooldown: 600 };
  it.each([
    { name: 'no memory: the base', memory: 0, reliefs: [100, 200, 300], want: 600 },
    { name: 'one relief in memory: the base', memory: 3600, reliefs: [900], want: 600 },
    { name: 'three reliefs in memory: doubled twice', memory: 3600, reliefs: [100, 500, 900], want: 2400 },
    { name: 'reliefs older than the memory do not count', memory: 3600, reliefs: [-5000, -4000, 900], want: 600 },
    { name: 'at most 2^6', memory: 100_000, reliefs: Array.from({ length: 20 }, (_, i) => i), want: 600 * 64 },
  ])('$name', ({ memory, reliefs, want }) => {
    const history = { hostUtilisation: new Map(), lastMigration: new Map(), reliefs: new Map([['vm', reliefs]]) };
    expect(cooldownOf('vm', { ...s, cooldownMemory: memory }, history, 1000)).toBe(want);
  });

  it('counts only the moves that relieved an overloaded host', () => {
    expect((['migrate', 'remigrate', 'drain', 'consolidate'] as const).filter(countsTowardCooldown)).toEqual(['migrate']);
  });

  it('a VM moved three times to empty hosts is free after the base; one relieved three times keeps its host on', () => {
    // c1 last moved 700 s ago, the base is 600 s: c (calm) is emptied onto b unless c1's
    // three reliefs within the hour double its cooldown twice (2,400 s)
    const vms = [vm('a1', 'a', 500), vm('b1', 'b', 600), vm('c1', 'c', 100)];
    const hosts = ['a', 'b', 'c'].map((h) => host(h, vms.filter((v) => v.host === h).reduce((x, v) => x + v.cpuUsed, 0)));
    const growing = consolidateConfig({ ...flatSettings, cooldown: 600, cooldownMemory: 3600 });
    const run = (reliefs: number[]) =>
      decide({ time: 10_000, hosts, vms }, growing, {
        hostUtilisation: new Map(),
        lastMigration: new Map([['c1', 9_300]]),
        vmCpu: flat(vms),
        reliefs: new Map([['c1', reliefs]]),
      }).migrations.map((m) => `${m.vm}:${m.from}->${m.to}`);
    expect(run([])).toEqual(['c1:c->b']);
    expect(run([7_500, 8_400, 9_300])).toEqual([]);
  });
});
