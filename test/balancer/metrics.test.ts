import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../balancer/log.ts';
import { parseCounters, renderMetrics, writeMetrics, type MetricsInput } from '../../balancer/metrics.ts';
import type { MigrationResult } from '../../balancer/migrate.ts';
import type { Migration } from '../../balancer/types.ts';

const migration: Migration = { vm: 'server2', from: 'kvmnode1', to: 'kvmnode2', kind: 'migrate', reason: 'kvmnode1 at 93 %', fallbacks: [] };
function record(over: Partial<RunRecord> = {}): RunRecord {
  return {
    time: 1700000000,
    dryRun: false,
    home: ['kvmnode1'],
    strategy: 'home',
    snapshot: {
      time: 1700000000,
      hosts: [
        { name: 'kvmnode1', reachable: true, drained: false, cpuCapacity: 100, cpuUsed: 93, memTotalMiB: 4096, memAvailableMiB: 3000 },
        { name: 'kvmnode2', reachable: true, drained: false, cpuCapacity: 100, cpuUsed: 10, memTotalMiB: 4096, memAvailableMiB: 3000 },
        { name: 'kvmnode3', reachable: false, unmeasured: 'no node_exporter series (missing or stale)', drained: false, cpuCapacity: 0, cpuUsed: 0, memTotalMiB: 0, memAvailableMiB: 0 },
      ],
      vms: [],
    },
    plan: { migrations: [migration], reasons: [] } as unknown as RunRecord['plan'],
    results: [{ migration, ok: true, dryRun: false, host: 'kvmnode2', attempts: [] } as unknown as MigrationResult],
    notes: [],
    collectMs: 1234,
    ...over,
  };
}
const input = (r: RunRecord): MetricsInput => ({ record: r, self: 'kvmnode1', balanced: [{ name: 'kvmnode1', high: 0.8 }] });

describe("the balancer's metrics (node_exporter textfile)", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hvmctl-metrics-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('one run: counters, the overload of each balanced host, unknown hosts, the leader and the time', () => {
    const text = renderMetrics(input(record()), new Map());
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines).toEqual([
      'hvmctl_balancer_runs_total 1',
      'hvmctl_balancer_decisions_total{decision="migrate"} 1',
      'hvmctl_balancer_migrations_total{kind="consolidate",outcome="failed"} 0',
      'hvmctl_balancer_migrations_total{kind="consolidate",outcome="ok"} 0',
      'hvmctl_balancer_migrations_total{kind="drain",outcome="failed"} 0',
      'hvmctl_balancer_migrations_total{kind="drain",outcome="ok"} 0',
      'hvmctl_balancer_migrations_total{kind="migrate",outcome="failed"} 0',
      'hvmctl_balancer_migrations_total{kind="migrate",outcome="ok"} 1',
      'hvmctl_balancer_migrations_total{kind="remigrate",outcome="failed"} 0',
      'hvmctl_balancer_migrations_total{kind="remigrate",outcome="ok"} 0',
      'hvmctl_balancer_overloaded{host="kvmnode1"} 1',
      'hvmctl_balancer_host_utilisation_ratio{host="kvmnode1"} 0.93',
      'hvmctl_balancer_host_utilisation_ratio{host="kvmnode2"} 0.1',
      'hvmctl_balancer_host_unknown{host="kvmnode1"} 0',
      'hvmctl_balancer_host_unknown{host="kvmnode2"} 0',
      'hvmctl_balancer_host_unknown{host="kvmnode3"} 1',
      'hvmctl_balancer_leader{host="kvmnode1"} 1',
      'hvmctl_balancer_last_run_timestamp_seconds 1700000000',
      'hvmctl_balancer_last_run_collect_seconds 1.234',
    ]);
    // Every metric has its HELP and TYPE.
    for (const name of new Set(lines.map((l) => l.replace(/[{ ].*/, '')))) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toMatch(new RegExp(`# TYPE ${name} (counter|gauge)\\n`));
    }
  });

  it('counters carry over from the previous file; a run that plans nothing counts as decision none', () => {
    const first = renderMetrics(input(record()), new Map());
    const second = renderMetrics(input(record({ plan: { migrations: [], reasons: [] } as unknown as RunRecord['plan'], results: [] })), parseCounters(first));
    expect(second).toContain('hvmctl_balancer_runs_total 2\n');
    expect(second).toContain('hvmctl_balancer_decisions_total{decision="migrate"} 1\n');
    expect(second).toContain('hvmctl_balancer_decisions_total{decision="none"} 1\n');
    expect(second).toContain('hvmctl_balancer_migrations_total{kind="migrate",outcome="ok"} 1\n');
  });

  it('parseCounters ignores gauges, comments, garbage and negative values', () => {
    expect([...parseCounters('# HELP x\nhvmctl_balancer_runs_total 7\nhvmctl_balancer_leader{host="a"} 1\nhvmctl_x_total -3\nhvmctl_y_total NaN\nnonsense\n')]).toEqual([['hvmctl_balancer_runs_total', 7]]);
  });

  it('writes the file whole (readable by the exporter, no temporary file left), and adds to it', async () => {
    const file = path.join(dir, 'hvmctl.prom');
    expect(await writeMetrics(file, input(record()))).toBe(true);
    expect(await writeMetrics(file, input(record()))).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain('hvmctl_balancer_runs_total 2\n');
    expect(statSync(file).mode & 0o044).toBe(0o044);
    expect(readdirSync(dir)).toEqual(['hvmctl.prom']);
  });

  it('writes nothing where there is no textfile directory (no node_exporter installed)', async () => {
    const file = path.join(dir, 'absent', 'hvmctl.prom');
    expect(await writeMetrics(file, input(record()))).toBe(false);
    expect(readdirSync(dir)).toEqual(['hvmctl.prom']);
  });
});
