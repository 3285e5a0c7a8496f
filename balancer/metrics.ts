// The balancer's own metrics, for node_exporter's textfile collector
// (Debian's prometheus-node-exporter reads /var/lib/prometheus/node-exporter/*.prom):
//   hvmctl_balancer_runs_total                       runs that measured and decided
//   hvmctl_balancer_decisions_total{decision}        per run: the kind of each planned move
//                                                    (migrate, remigrate, drain, consolidate), or none
//   hvmctl_balancer_migrations_total{kind,outcome}   moves carried out: ok or failed
//   hvmctl_balancer_overloaded{host}                 1 when a balanced host is above its high mark
//   hvmctl_balancer_host_utilisation_ratio{host}     measured CPU use 0..1
//   hvmctl_balancer_host_unknown{host}               1 when unreachable or without fresh metrics
//   hvmctl_balancer_leader{host}                     1: the host whose agent made this run
//   hvmctl_balancer_last_run_timestamp_seconds, hvmctl_balancer_last_run_collect_seconds
// Counters live in the file itself: each run reads the previous file and adds
// to it (a lost file restarts them, which Prometheus reads as a counter reset).
// Labels are bounded (kinds, outcomes, host names): no VM names, no free text.
// The file is written whole to a temporary file beside it, synced and renamed,
// so the collector never reads half of it.
import { readFile, stat } from 'node:fs/promises';
import { writeFileSafely } from './safe-file.ts';
import path from 'node:path';
import { balancerPaths } from '../src/render/balancer-paths.ts';
import type { RunRecord } from './log.ts';

export const DEFAULT_METRICS_PATH = balancerPaths.metrics;

/** `name{labels}` → value, for the counters of a previous file (other lines are ignored). */
export function parseCounters(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(hvmctl_[a-z_]+_total(?:\{[^}\n]*\})?) (\S+)$/.exec(line);
    if (!m) continue;
    const v = Number(m[2]);
    if (Number.isFinite(v) && v >= 0) out.set(m[1]!, v);
  }
  return out;
}

const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const series = (name: string, labels: Record<string, string> = {}): string => {
  const l = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
  return l.length === 0 ? name : `${name}{${l.join(',')}}`;
};

export interface MetricsInput {
  readonly record: RunRecord;
  /** The host this agent runs on. */
  readonly self: string;
  /** Hosts the strategy balances, each with its high mark (0..1). */
  readonly balanced: readonly { readonly name: string; readonly high: number }[];
}

/** The file's text after `input`'s run, counters carried over from `previous`. Pure. */
export function renderMetrics(input: MetricsInput, previous: ReadonlyMap<string, number>): string {
  const { record } = input;
  const counters = new Map(previous);
  const add = (key: string, by = 1) => counters.set(key, (counters.get(key) ?? 0) + by);
  add(series('hvmctl_balancer_runs_total'));
  const kinds = record.plan.migrations.map((m) => m.kind);
  if (kinds.length === 0) add(series('hvmctl_balancer_decisions_total', { decision: 'none' }));
  for (const k of kinds) add(series('hvmctl_balancer_decisions_total', { decision: k }));
  for (const r of record.results) {
    if (r.dryRun) continue;
    add(series('hvmctl_balancer_migrations_total', { kind: r.migration.kind, outcome: r.ok ? 'ok' : 'failed' }));
  }
  // Both outcomes of every kind exist from the first run, so rate() and increase() see a 0 first.
  for (const kind of ['migrate', 'remigrate', 'drain', 'consolidate']) {
    for (const outcome of ['ok', 'failed']) add(series('hvmctl_balancer_migrations_total', { kind, outcome }), 0);
  }
  const lines: string[] = [];
  const help = (name: string, type: 'counter' | 'gauge', text: string) => lines.push(`# HELP ${name} ${text}`, `# TYPE ${name} ${type}`);
  const emit = (prefix: string) => {
    for (const [k, v] of [...counters].filter(([k]) => k === prefix || k.startsWith(`${prefix}{`)).sort(([a], [b]) => a.localeCompare(b))) lines.push(`${k} ${v}`);
  };
  help('hvmctl_balancer_runs_total', 'counter', 'Balancer runs that measured and decided.');
  emit('hvmctl_balancer_runs_total');
  help('hvmctl_balancer_decisions_total', 'counter', 'Planned moves by kind; none when a run planned nothing.');
  emit('hvmctl_balancer_decisions_total');
  help('hvmctl_balancer_migrations_total', 'counter', 'Moves carried out, by kind and outcome.');
  emit('hvmctl_balancer_migrations_total');
  const hosts = new Map(record.snapshot.hosts.map((h) => [h.name, h] as const));
  help('hvmctl_balancer_overloaded', 'gauge', 'A balanced host above its high mark in this run (unknown hosts: no sample).');
  for (const b of input.balanced) {
    const h = hosts.get(b.name);
    if (!h?.reachable || h.cpuCapacity <= 0) continue;
    lines.push(`${series('hvmctl_balancer_overloaded', { host: b.name })} ${h.cpuUsed / h.cpuCapacity > b.high ? 1 : 0}`);
  }
  help('hvmctl_balancer_host_utilisation_ratio', 'gauge', 'Measured CPU use of each reachable, measured hypervisor, 0..1.');
  for (const h of record.snapshot.hosts) {
    if (h.reachable && h.cpuCapacity > 0) lines.push(`${series('hvmctl_balancer_host_utilisation_ratio', { host: h.name })} ${round(h.cpuUsed / h.cpuCapacity)}`);
  }
  help('hvmctl_balancer_host_unknown', 'gauge', '1 for a hypervisor that was unreachable or had no fresh metrics: it neither gave nor received.');
  for (const h of record.snapshot.hosts) lines.push(`${series('hvmctl_balancer_host_unknown', { host: h.name })} ${h.reachable ? 0 : 1}`);
  help('hvmctl_balancer_leader', 'gauge', 'The host whose agent made the last run.');
  lines.push(`${series('hvmctl_balancer_leader', { host: input.self })} 1`);
  help('hvmctl_balancer_last_run_timestamp_seconds', 'gauge', 'When the last run measured (Unix time).');
  lines.push(`hvmctl_balancer_last_run_timestamp_seconds ${record.time}`);
  help('hvmctl_balancer_last_run_collect_seconds', 'gauge', 'How long the last run took to measure.');
  lines.push(`hvmctl_balancer_last_run_collect_seconds ${round(record.collectMs / 1000)}`);
  return `${lines.join('\n')}\n`;
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}

/**
 * Write the metrics file for `input`'s run. Nothing is written when the file's
 * directory does not exist (no node_exporter on this host): returns false.
 */
export async function writeMetrics(file: string, input: MetricsInput): Promise<boolean> {
  const dir = path.dirname(file);
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) return false;
  const previous = parseCounters(await readFile(file, 'utf8').catch(() => ''));
  const text = renderMetrics(input, previous);
  // Written beside it under a random name the collector's *.prom glob does not match, never
  // through a link (the directory's parent belongs to the exporter's user: safe-file.ts).
  await writeFileSafely(file, text);
  return true;
}
