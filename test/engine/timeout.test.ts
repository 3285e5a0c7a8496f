// A hung or slow host: every remote step is bounded (RunnerOptions.timeoutMs),
// a hung host is marked failed with the step named, and the other hosts
// finish every stage. Real processes hang here (LocalConnector runs `sleep`);
// no duration is asserted, only the outcome and that the run ended.
import { describe, expect, it } from 'vitest';
import type { Connector } from '../../src/connector/connector.ts';
import { LocalConnector } from '../../src/connector/local.ts';
import type { HostSpec } from '../../src/inventory/types.ts';
import { exitCode } from '../../tasks/engine/result.ts';
import { runPlaybook } from '../../tasks/engine/runner.ts';
import type { Handler, Stage, Task } from '../../tasks/engine/types.ts';
import { testInventory } from './inventory.ts';

const [, kvmnode1, kvmnode2] = testInventory.hosts as [HostSpec, HostSpec, HostSpec];

/** A task whose fact command, change command and notified handler are given per host. */
function task(name: string, stage: Stage, per: (h: HostSpec) => { fact?: string; change?: string; notify?: boolean }): Task<{ v: string }> {
  return {
    name,
    tags: [name],
    stage,
    applies: () => true,
    facts: (ctx) => ({ v: { key: `${name}:v`, command: per(ctx.host).fact ?? 'echo same', parse: (r) => r.stdout.trim() } }),
    plan: (ctx) => {
      const p = per(ctx.host);
      if (p.change === undefined) return { changes: [], reason: `${name} fine` };
      return { changes: [{ summary: `${name} change`, commands: [{ script: p.change }], notify: p.notify ? ['exportfs'] : [] }], reason: '' };
    },
  };
}

const handlers: Handler[] = [{ name: 'exportfs', commands: (ctx) => [{ script: ctx.host.name === 'kvmnode2' ? 'sleep 30 # exportfs -ra' : 'true' }] }];

async function run(tasks: Task[], connect: (h: HostSpec) => Promise<Connector> = async (h) => new LocalConnector(h.name)) {
  const report = await runPlaybook({ inventory: testInventory, tasks, handlers, hosts: [kvmnode1, kvmnode2], connect, timeoutMs: () => 500 });
  // Per host, in its order (hosts run in parallel: their records interleave).
  const rows = (host: string) => report.results.filter((r) => r.host === host).map((r) => [r.task, r.status, r.status === 'failed' ? r.reason : '']);
  return { report, rows };
}

describe('a hung host', () => {
  it('a fact that hangs: that host fails at "gather facts" naming the fact; the other finishes every stage', async () => {
    const { report, rows } = await run([
      task('a', 'base', (h) => ({ fact: h.name === 'kvmnode2' ? 'sleep 30' : 'echo ok' })),
      task('b', 'trust', () => ({})),
    ]);
    expect(rows('kvmnode1')).toEqual([['a', 'ok', ''], ['b', 'ok', '']]);
    expect(rows('kvmnode2')).toEqual([['gather facts', 'failed', "kvmnode2: no answer within 0.5 s: reading fact 'a:v' (sleep 30)"]]);
    expect(report.results.find((r) => r.host === 'kvmnode2')?.error?.code).toBe('E_TIMEOUT');
    expect(exitCode(report, 'apply')).toBe(2);
  }, 30_000);

  it('a change that hangs fails its task, named; a handler that hangs fails the handler, named', async () => {
    const first = await run([task('write', 'base', (h) => ({ change: h.name === 'kvmnode2' ? 'sleep 30 # write' : 'true' })), task('later', 'trust', () => ({}))]);
    expect(first.rows('kvmnode1')).toEqual([['write', 'changed', ''], ['later', 'ok', '']]);
    expect(first.rows('kvmnode2')).toEqual([['write', 'failed', 'kvmnode2: no answer within 0.5 s: sleep 30 # write']]);
    const second = await run([task('export', 'storage', () => ({ change: 'true', notify: true })), task('later', 'trust', () => ({}))]);
    expect(second.rows('kvmnode1')).toEqual([['export', 'changed', ''], ['handler exportfs', 'changed', ''], ['later', 'ok', '']]);
    expect(second.rows('kvmnode2')).toEqual([['export', 'changed', ''], ['handler exportfs', 'failed', 'kvmnode2: no answer within 0.5 s: sleep 30 # exportfs -ra']]);
  }, 30_000);

  it('a connection that never comes is unreachable within the bound; the other host finishes', async () => {
    const { report, rows } = await run([task('a', 'base', () => ({}))], async (h) => (h.name === 'kvmnode2' ? new Promise<never>(() => undefined) : new LocalConnector(h.name)));
    expect(rows('kvmnode1')).toEqual([['a', 'ok', '']]);
    expect(rows('kvmnode2')).toEqual([]);
    expect(report.recap.find((r) => r.host === 'kvmnode2')).toMatchObject({ unreachable: 1 });
    expect(exitCode(report, 'apply')).toBe(3);
  }, 30_000);
});
