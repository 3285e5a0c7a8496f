import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { actionText, appendRunLog, formatJsonLine, formatLogLine, tailLog, type RunRecord } from '../../balancer/log.ts';
import type { MigrationResult } from '../../balancer/migrate.ts';
import type { Migration } from '../../balancer/types.ts';

const m = (vm: string, to: string, kind: Migration['kind'] = 'migrate'): Migration => ({ vm, from: 'kvmnode1', to, kind, reason: 'r', fallbacks: [] });
const ok = (mig: Migration): MigrationResult => ({ migration: mig, ok: true, dryRun: false, host: mig.to, attempts: [{ to: mig.to, ok: true }], movedAt: 1 });

const record: RunRecord = {
  time: 1_795_000_262, // 2026-11-18 11:11:02 UTC
  dryRun: false,
  home: ['kvmnode1'],
  strategy: 'home',
  snapshot: {
    time: 1_795_000_262,
    hosts: [
      { name: 'kvmnode1', reachable: true, drained: false, cpuCapacity: 200, cpuUsed: 186.4, memTotalMiB: 8000, memAvailableMiB: 4720 },
      { name: 'kvmnode2', reachable: true, drained: false, cpuCapacity: 200, cpuUsed: 10, memTotalMiB: 8000, memAvailableMiB: 7000 },
    ],
    vms: [
      { name: 'server2', host: 'kvmnode1', home: 'kvmnode1', cpuUsed: 41.2, memMiB: 512, pinned: false },
      { name: 'server1', host: 'kvmnode1', home: 'kvmnode1', cpuUsed: 37, memMiB: 512, pinned: false },
    ],
  },
  plan: { migrations: [m('server2', 'kvmnode2')], reasons: ['kvmnode1 at 93 % for 2 runs > 80 %'] },
  results: [ok(m('server2', 'kvmnode2'))],
  notes: [],
  collectMs: 5012.4,
};

describe('run log', () => {
  it("writes the seed's line: time, action, home CPU and memory, each VM's load", () => {
    expect(formatLogLine(record)).toBe(
      '2026-11-18 11:11:02\tMIGRASI (server2 KE kvmnode2)\t\tkvmnode1 CPU = 93%\tkvmnode1 MEM = 41%\t\tserver1=37%\tserver2=41%',
    );
  });
  it('names each action', () => {
    expect(actionText([])).toBe('-');
    expect(actionText([ok(m('server2', 'kvmnode1', 'remigrate'))])).toBe('REMIGRASI (server2 KE kvmnode1)');
    expect(actionText([{ migration: m('server3', 'kvmnode2'), ok: false, dryRun: false, host: 'kvmnode1', attempts: [{ to: 'kvmnode2', ok: false }, { to: 'kvmnode3', ok: false }] }])).toBe(
      'GAGAL MIGRASI (server3 KE kvmnode2/kvmnode3)',
    );
    expect(actionText([{ migration: m('server3', 'kvmnode2'), ok: false, dryRun: true, host: 'kvmnode1', attempts: [] }])).toBe('RENCANA MIGRASI (server3 KE kvmnode2)');
  });
  it('marks an unmeasured home host and appends notes', () => {
    const line = formatLogLine({
      ...record,
      results: [],
      snapshot: { ...record.snapshot, hosts: [{ ...record.snapshot.hosts[0]!, reachable: false }] },
      notes: ['no state file: windows start empty'],
    });
    expect(line).toBe('2026-11-18 11:11:02\t-\t\tkvmnode1 CPU = ?\tkvmnode1 MEM = ?\t\tserver1=37%\tserver2=41%\t# no state file: windows start empty');
  });
  it('writes a JSON line with the plan, reasons and results', () => {
    const j = JSON.parse(formatJsonLine(record));
    expect(j).toMatchObject({ time: 1_795_000_262, action: 'MIGRASI (server2 KE kvmnode2)', collectMs: 5012, plan: { reasons: ['kvmnode1 at 93 % for 2 runs > 80 %'] } });
    expect(j.results).toEqual([{ vm: 'server2', kind: 'migrate', from: 'kvmnode1', ok: true, dryRun: false, host: 'kvmnode2', attempts: [{ to: 'kvmnode2', ok: true }] }]);
  });
  it('appends one line per run to both files and tails them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvmctl-log-'));
    try {
      const paths = { log: join(dir, 'a', 'balancer.log'), jsonl: join(dir, 'a', 'balancer.jsonl') };
      expect(await tailLog(paths.log, 5)).toEqual([]);
      await appendRunLog(paths, record);
      await appendRunLog(paths, { ...record, results: [] });
      expect(await tailLog(paths.log, 1)).toEqual([formatLogLine({ ...record, results: [] })]);
      expect(await tailLog(paths.jsonl, 0)).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
