import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCycle, type Decide } from '../../balancer/cycle.ts';
import { createDryRunExecutor, createLiveExecutor } from '../../balancer/migrate.ts';
import { acquireLock } from '../../balancer/lock.ts';
import type { BalancerConfig } from '../../balancer/policy/strategies.ts';
import type { History, Migration, Plan, Snapshot } from '../../balancer/types.ts';
import { seedCluster, seedConfig, type FakeCluster } from './fake-cluster.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvmctl-cycle-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function planning(migrations: Migration[]): Decide & { seen: { snapshot: Snapshot; config: BalancerConfig; history: History }[] } {
  const seen: { snapshot: Snapshot; config: BalancerConfig; history: History }[] = [];
  const decide = ((snapshot: Snapshot, config: BalancerConfig, history: History): Plan => {
    seen.push({ snapshot, config, history });
    return migrations.length ? { migrations, reasons: ['kvmnode1 overloaded'] } : { migrations: [], reasons: ['kvmnode1 at 90 %: window not full'] };
  }) as Decide & { seen: typeof seen };
  decide.seen = seen;
  return decide;
}

const move: Migration = { vm: 'server2', from: 'kvmnode1', to: 'kvmnode2', kind: 'migrate', reason: 'kvmnode1 at 90 % > 80 %', fallbacks: ['kvmnode3'] };

function deps(cluster: FakeCluster, decide: Decide, dryRun = false) {
  const config = seedConfig(dir);
  const executor = dryRun ? createDryRunExecutor() : createLiveExecutor({ libvirt: cluster, timeoutMs: 120_000, clock: cluster.clock });
  return { config, libvirt: cluster, files: cluster, clock: cluster.clock, decide, executor };
}

describe('runCycle', () => {
  it('measures hosts and VMs over the window and hands the policy a snapshot', async () => {
    const cluster = seedCluster();
    cluster.host('kvmnode3').reachable = false;
    const decide = planning([]);
    const out = await runCycle(deps(cluster, decide));
    expect(out.ran).toBe(true);
    const { snapshot, config } = decide.seen[0]!;
    const n1 = snapshot.hosts.find((h) => h.name === 'kvmnode1')!;
    // 0.6 + 0.7 + 0.5 cores of 2 = 90 %
    expect(n1.cpuCapacity).toBe(200);
    expect(n1.cpuUsed).toBeCloseTo(180, 0);
    expect(snapshot.hosts.find((h) => h.name === 'kvmnode3')!.reachable).toBe(false);
    expect(snapshot.vms.map((v) => [v.name, v.host, v.home, Math.round(v.cpuUsed), v.memMiB])).toEqual([
      ['server1', 'kvmnode1', 'kvmnode1', 60, 512],
      ['server2', 'kvmnode1', 'kvmnode1', 70, 512],
      ['server3', 'kvmnode1', 'kvmnode1', 50, 512], // no metadata: home is the home host it runs on
    ]);
    // the configured strategy, by name, with its own settings (percentages as fractions)
    expect(config.strategy).toBe('home');
    expect(config.settings).toMatchObject({ home: ['kvmnode1'], helpers: ['kvmnode2', 'kvmnode3'], high: 0.8, low: 0.5 });
    // The window is the configured 5 s, not a minute.
    expect(cluster.mono).toBe(5000);
  });

  it('respects the lock: a second run while the first holds it migrates nothing and says who holds it', async () => {
    const cluster = seedCluster();
    const config = seedConfig(dir);
    const held = acquireLock(config.paths.lock, process.ppid);
    expect(held.acquired).toBe(true);
    const decide = planning([move]);
    const out = await runCycle({ ...deps(cluster, decide), lock: (p) => acquireLock(p, process.pid) });
    expect(out).toMatchObject({ ran: false, holder: process.ppid });
    expect(out.ran ? '' : out.message).toMatch(`another run (pid ${process.ppid}) holds the lock`);
    expect(cluster.calls.filter((c) => c.startsWith('migrate'))).toEqual([]);
    expect(decide.seen).toHaveLength(0);
    expect(existsSync(config.paths.log)).toBe(false);
  });

  it('takes over a lock file whose process is gone (no lock held), and releases it after the run', async () => {
    const cluster = seedCluster();
    const config = seedConfig(dir);
    writeFileSync(config.paths.lock, '999999999\n');
    const out = await runCycle(deps(cluster, planning([move])));
    expect(out.ran).toBe(true);
    const after = acquireLock(config.paths.lock); // released after the run
    expect(after.acquired).toBe(true);
    if (after.acquired) after.release();
  });

  it('dry run: the same plan, nothing migrated, no state or log written', async () => {
    const cluster = seedCluster();
    const decide = planning([move]);
    const out = await runCycle(deps(cluster, decide, true));
    expect(out.ran && out.record.plan.migrations).toEqual([move]);
    expect(out.ran && out.record.results[0]).toMatchObject({ ok: false, dryRun: true });
    expect(cluster.calls.filter((c) => /^(migrate|setMetadata|resume|destroy)/.test(c))).toEqual([]);
    expect(cluster.runningOn('server2')).toEqual(['kvmnode1']);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
    expect(existsSync(join(dir, 'balancer.log'))).toBe(false);
  });

  it('migrates, verifies, and records home and reason in the metadata on the destination', async () => {
    const cluster = seedCluster();
    const out = await runCycle(deps(cluster, planning([move])));
    expect(out.ran && out.record.results[0]).toMatchObject({ ok: true, host: 'kvmnode2' });
    expect(cluster.runningOn('server2')).toEqual(['kvmnode2']);
    expect(cluster.host('kvmnode2').domains.get('server2')!.metadata).toEqual({ home: 'kvmnode1', moved: expect.any(Number), reason: move.reason });
  });

  it('the next run checks the loads the migrating run predicted against what it measures', async () => {
    const cluster = seedCluster();
    const predicted: Migration = { ...move, predicted: { from: 0.55, to: 0.3 } };
    await runCycle(deps(cluster, planning([predicted])));
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { predicted: Record<string, number> };
    expect(state.predicted).toEqual({ kvmnode1: 0.55, kvmnode2: 0.3 });
    const next = await runCycle(deps(cluster, planning([])));
    const rows = next.ran ? (next.record.predictionCheck ?? []) : [];
    expect(rows.map((r) => r.host)).toEqual(['kvmnode1', 'kvmnode2']);
    for (const r of rows) expect(r.error).toBeCloseTo(r.measured - r.predicted, 4);
    const line = readFileSync(join(dir, 'balancer.jsonl'), 'utf8').trim().split('\n').pop() ?? '{}';
    expect(JSON.parse(line).predictionCheck).toHaveLength(2);
    const after = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { predicted: object; lastCheck: { rows: unknown[] } };
    expect(after.predicted).toEqual({});
    expect(after.lastCheck.rows).toHaveLength(2);
  });

  it('a failed migration leaves the VM running at the source (resumed) and falls back to the next destination', async () => {
    const cluster = seedCluster();
    cluster.script = (_vm, _from, to) => (to === 'kvmnode2' ? 'fail-paused' : 'ok');
    const out = await runCycle(deps(cluster, planning([move])));
    const result = out.ran ? out.record.results[0]! : undefined;
    expect(result).toMatchObject({ ok: true, host: 'kvmnode3' });
    expect(result!.attempts[0]).toMatchObject({ to: 'kvmnode2', ok: false, repair: 'resumed server2 on kvmnode1' });
    expect(cluster.calls.filter((c) => /^(migrate|resume)/.test(c))).toEqual([
      'migrate server2 kvmnode1 kvmnode2',
      'resume kvmnode1 server2',
      'migrate server2 kvmnode1 kvmnode3',
    ]);
    expect(cluster.runningOn('server2')).toEqual(['kvmnode3']);
    const log = readFileSync(join(dir, 'balancer.log'), 'utf8');
    expect(log).toContain('MIGRASI (server2 KE kvmnode3)');
  });

  it('when every destination fails, the VM still runs once, where it was, and the log says GAGAL', async () => {
    const cluster = seedCluster();
    cluster.script = () => 'timeout';
    const out = await runCycle(deps(cluster, planning([move])));
    expect(out.ran && out.record.results[0]).toMatchObject({ ok: false, host: 'kvmnode1' });
    expect(cluster.calls).toContain('abortJob kvmnode1 server2');
    expect(cluster.runningOn('server2')).toEqual(['kvmnode1']);
    expect(readFileSync(join(dir, 'balancer.log'), 'utf8')).toContain('GAGAL MIGRASI (server2 KE kvmnode2/kvmnode3)');
  });

  it('a failed migration is remembered: the next run hands decide() the failures, which back the VM off and avoid the failed destinations', async () => {
    const cluster = seedCluster();
    cluster.script = () => 'timeout';
    await runCycle(deps(cluster, planning([move])));
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    const t = state.failures.vms.server2[0];
    expect(state.failures).toEqual({ vms: { server2: [t, 1] }, destinations: { 'server2>kvmnode2': [t, 1], 'server2>kvmnode3': [t, 1] } });
    cluster.advance(60_000);
    const decide = planning([]);
    await runCycle(deps(cluster, decide));
    expect(decide.seen[0]!.history.failures).toEqual(state.failures);
    // A success clears the VM's record and its destination's, not the other destination's.
    cluster.script = () => 'ok';
    cluster.advance(600_000);
    await runCycle(deps(cluster, planning([move])));
    const after = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    expect(after.failures).toEqual({ vms: {}, destinations: { 'server2>kvmnode3': [t, 1] } });
  });

  it('a deleted state file loses only the window: home and last move come back from libvirt metadata', async () => {
    const cluster = seedCluster();
    await runCycle(deps(cluster, planning([move])));
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    expect(state.hostUtilisation.kvmnode1).toHaveLength(1);
    expect(state.lastMigration.server2).toEqual(expect.any(Number));
    rmSync(join(dir, 'state.json'));
    cluster.advance(60_000);
    const decide = planning([]);
    const out = await runCycle(deps(cluster, decide));
    const { snapshot, history } = decide.seen[0]!;
    expect(snapshot.vms.find((v) => v.name === 'server2')).toMatchObject({ host: 'kvmnode2', home: 'kvmnode1' });
    expect(history.lastMigration.get('server2')).toBe(state.lastMigration.server2);
    expect(history.hostUtilisation.size).toBe(0);
    expect(out.ran && out.record.notes[0]).toMatch(/no state file .*windows start empty/);
    expect(readFileSync(join(dir, 'balancer.log'), 'utf8').trim().split('\n')[1]).toMatch(/# no state file/);
  });

  it('a corrupt state file is reported and replaced', async () => {
    const cluster = seedCluster();
    writeFileSync(join(dir, 'state.json'), '{"version":1,"hostUtil');
    const out = await runCycle(deps(cluster, planning([])));
    expect(out.ran && out.record.notes[0]).toMatch(/corrupt/);
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).version).toBe(1);
  });

  it('the history grows by one measurement per run and is handed to the next run', async () => {
    const cluster = seedCluster();
    await runCycle(deps(cluster, planning([])));
    cluster.advance(55_000);
    const decide = planning([]);
    await runCycle(deps(cluster, decide));
    expect(decide.seen[0]!.history.hostUtilisation.get('kvmnode1')).toEqual([0.9]);
    expect(decide.seen[0]!.history.vmCpu?.get('server2')).toEqual([70]);
  });

  it.each([
    ['home: its windows and 5 more', {}, 8],
    ['consolidate: an hour of one-minute runs, as the replay hands over an hour', { strategy: 'consolidate', consolidate: { hosts: ['kvmnode1', 'kvmnode2'] } }, 60],
    ['consolidate every 5 minutes: 12 runs', { strategy: 'consolidate', consolidate: { hosts: ['kvmnode1'] }, schedule: '*/5 * * * *' }, 12],
    ['consolidate with 2 h of history', { strategy: 'consolidate', consolidate: { hosts: ['kvmnode1'], history: 7200 } }, 120],
  ])('the state file keeps %s', async (_what, overrides, kept) => {
    const cluster = seedCluster();
    const old = Array.from({ length: 200 }, (_, i) => i % 100);
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ version: 1, hostUtilisation: { kvmnode1: old.map((v) => v / 100) }, lastMigration: {}, vmCpu: { server2: old }, drained: [], undrained: [] }));
    const config = seedConfig(dir, overrides);
    const decide = planning([]);
    await runCycle({ ...deps(cluster, decide), config });
    // the run saw everything on disk; what it writes back is the last `kept` runs, its own last
    expect(decide.seen[0]!.history.vmCpu?.get('server2')).toHaveLength(200);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    expect(state.vmCpu.server2).toHaveLength(kept);
    expect(state.vmCpu.server2.at(-1)).toBe(70);
    expect(state.vmCpu.server2.at(-2)).toBe(99);
    expect(state.hostUtilisation.kvmnode1).toHaveLength(kept);
  });

  it.each([
    ['the default (a day): a relief 36 h old is dropped, one 1 h old kept', {}, ['recent']],
    ['a cooldown_memory of two days: both kept, so the cooldown can count them', { cooldownMemory: 172_800 }, ['old', 'recent']],
  ])('relief times: %s', async (_what, memory, kept) => {
    const cluster = seedCluster();
    const now = cluster.clock.nowMs() / 1000;
    const reliefs = { old: [now - 129_600], recent: [now - 3_600] };
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ version: 1, hostUtilisation: {}, lastMigration: {}, vmCpu: {}, reliefs, drained: [], undrained: [] }));
    const config = seedConfig(dir, { strategy: 'consolidate', consolidate: { hosts: ['kvmnode1', 'kvmnode2'], ...memory } });
    await runCycle({ ...deps(cluster, planning([])), config });
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).reliefs).sort()).toEqual(kept);
  });
});
