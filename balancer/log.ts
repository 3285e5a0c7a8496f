// The run log. One line per run in the seed's log.txt format, tab-separated:
//   2026-11-24 17:31:02	MIGRASI (server2 KE kvmnode2)		kvmnode1 CPU = 93%	kvmnode1 MEM = 41%		server1=37%	server2=41%	server3=12%
// (action: MIGRASI = migration, REMIGRASI = back home, DRAIN, GAGAL = failed, `-` = nothing)
// and one JSON line per run with the full snapshot summary, plan, reasons, results.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Migration, Plan, Snapshot } from './types.ts';
import type { MigrationResult } from './migrate.ts';
import type { PredictionCheck } from './prediction.ts';

export interface RunRecord {
  readonly time: number;
  readonly dryRun: boolean;
  /** Hosts whose CPU and memory the log line shows: the homes, or under 'consolidate' its hosts. */
  readonly home: readonly string[];
  /** The configured strategy's name. */
  readonly strategy: string;
  readonly snapshot: Snapshot;
  readonly plan: Plan;
  readonly results: readonly MigrationResult[];
  /** Unreachable hosts, lost state, metadata problems... */
  readonly notes: readonly string[];
  /** Cost of measuring, ms. */
  readonly collectMs: number;
  /** The previous migrating run's predicted host loads against this run's measurement. */
  readonly predictionCheck?: readonly PredictionCheck[];
}

const KIND_WORD: Record<Migration['kind'], string> = { migrate: 'MIGRASI', remigrate: 'REMIGRASI', drain: 'DRAIN', consolidate: 'MIGRASI' };

/** `-`, or each migration as `MIGRASI (server2 KE kvmnode2)`; a failed one as `GAGAL MIGRASI (...)`. */
export function actionText(results: readonly MigrationResult[]): string {
  if (results.length === 0) return '-';
  return results
    .map((r) => {
      const word = KIND_WORD[r.migration.kind];
      if (r.dryRun) return `RENCANA ${word} (${r.migration.vm} KE ${r.migration.to})`;
      if (r.ok) return `${word} (${r.migration.vm} KE ${r.host})`;
      return `GAGAL ${word} (${r.migration.vm} KE ${r.attempts.map((a) => a.to).join('/')})`;
    })
    .join(', ');
}

export function formatTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

export function formatLogLine(record: RunRecord): string {
  const pct = (x: number): string => `${Math.round(x)}%`;
  const homes = record.home.map((name) => {
    const h = record.snapshot.hosts.find((x) => x.name === name);
    if (!h || !h.reachable) return `${name} CPU = ?\t${name} MEM = ?`;
    const cpu = h.cpuCapacity > 0 ? (h.cpuUsed / h.cpuCapacity) * 100 : 0;
    const mem = h.memTotalMiB > 0 ? ((h.memTotalMiB - h.memAvailableMiB) / h.memTotalMiB) * 100 : 0;
    return `${name} CPU = ${pct(cpu)}\t${name} MEM = ${pct(mem)}`;
  });
  const vms = [...record.snapshot.vms].sort((a, b) => a.name.localeCompare(b.name)).map((v) => `${v.name}=${pct(v.cpuUsed)}`);
  const alerts = record.results.flatMap((r) => (r.alert ? [r.alert] : []));
  const said = [...alerts, ...record.notes];
  const notes = said.length ? `\t# ${said.join('; ').replace(/\s+/g, ' ')}` : '';
  return `${formatTime(record.time)}\t${actionText(record.results)}\t\t${homes.join('\t')}\t\t${vms.join('\t')}${notes}`;
}

export function formatJsonLine(record: RunRecord): string {
  return JSON.stringify({
    time: record.time,
    dryRun: record.dryRun,
    strategy: record.strategy,
    action: actionText(record.results),
    collectMs: Math.round(record.collectMs),
    hosts: record.snapshot.hosts,
    vms: record.snapshot.vms,
    plan: record.plan,
    results: record.results.map((r) => ({
      vm: r.migration.vm,
      kind: r.migration.kind,
      from: r.migration.from,
      ok: r.ok,
      dryRun: r.dryRun,
      host: r.host,
      attempts: r.attempts,
      ...(r.alert ? { alert: r.alert } : {}),
    })),
    notes: record.notes,
    ...(record.predictionCheck && record.predictionCheck.length > 0 ? { predictionCheck: record.predictionCheck } : {}),
  });
}

export async function appendRunLog(paths: { readonly log: string; readonly jsonl: string }, record: RunRecord): Promise<void> {
  // 0750 as apply makes it (tasks/ops/balancer.ts): the log is root's.
  await mkdir(dirname(paths.log), { recursive: true, mode: 0o750 });
  await mkdir(dirname(paths.jsonl), { recursive: true, mode: 0o750 });
  await appendFile(paths.log, `${formatLogLine(record)}\n`);
  await appendFile(paths.jsonl, `${formatJsonLine(record)}\n`);
}

/** The last `n` lines of a log file ([] when there is none yet). */
export async function tailLog(path: string, n: number): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const lines = text.split('\n').filter((l) => l !== '');
  return n > 0 ? lines.slice(-n) : lines;
}
