// Pure formatters for a run, Ansible-like:
//   STAGE [base] ******
//   changed  kvmnode1    hosts file  (update /etc/hosts)
//   RECAP ******
//   kvmnode1   : ok=12 changed=0 failed=0 skipped=1 unreachable=0
// Colour is a parameter (the CLI turns it on only for a terminal), and the
// JSON document is the report plus the exit code.
import pc from 'picocolors';
import type { ErrorRecord, HostRecap, RunReport, TaskRecord, TaskStatus } from './result.ts';
import type { Stage } from './types.ts';

export interface Style {
  readonly color: boolean;
  /** Width of the host column. */
  readonly hostWidth: number;
}

export function styleFor(hosts: readonly string[], color: boolean): Style {
  return { color, hostWidth: Math.max(8, ...hosts.map((h) => h.length)) };
}

const colours = pc.createColors(true);
const paint: Record<TaskStatus | 'unreachable', (s: string) => string> = {
  ok: colours.green,
  changed: colours.yellow,
  failed: colours.red,
  skipped: colours.cyan,
  unreachable: colours.magenta,
};

function tint(style: Style, kind: TaskStatus | 'unreachable', text: string): string {
  return style.color ? paint[kind](text) : text;
}

function rule(title: string): string {
  return `${title} ${'*'.repeat(Math.max(3, 72 - title.length))}`;
}

export function formatStage(stage: Stage, hosts: readonly string[], check: boolean, style: Style): string {
  const text = rule(`${check ? 'CHECK ' : ''}STAGE [${stage}] (${hosts.length} host${hosts.length === 1 ? '' : 's'})`);
  return style.color ? `\n${colours.bold(text)}` : `\n${text}`;
}

export function formatResult(record: TaskRecord, style: Style, showDiff: boolean): string {
  const status = tint(style, record.status, record.status.padEnd(8));
  const line = `${status} ${record.host.padEnd(style.hostWidth)}  ${record.task}  (${record.reason})`;
  const hint = record.error?.hint ? `\n${' '.repeat(9)}hint: ${record.error.hint}` : '';
  if (!showDiff) return line + hint;
  const diffs = record.changes.flatMap((c) => (c.diff ? [indentDiff(c.diff, style)] : []));
  return [line + hint, ...diffs].join('\n');
}

function indentDiff(diff: string, style: Style): string {
  return diff
    .replace(/\n$/, '')
    .split('\n')
    .filter((l) => !l.startsWith('=====') && !l.startsWith('Index: '))
    .map((l) => {
      const text = `    ${l}`;
      if (!style.color) return text;
      if (l.startsWith('+') && !l.startsWith('+++')) return colours.green(text);
      if (l.startsWith('-') && !l.startsWith('---')) return colours.red(text);
      return text;
    })
    .join('\n');
}

export function formatUnreachable(host: string, error: ErrorRecord, style: Style): string {
  const hint = error.hint ? `\n${' '.repeat(9)}hint: ${error.hint}` : '';
  return `${tint(style, 'unreachable', 'unreachable'.padEnd(8))} ${host.padEnd(style.hostWidth)}  (${error.message})${hint}`;
}

export function formatProgress(stage: Stage, done: number, total: number): string {
  return `[${stage}] ${done}/${total} hosts done`;
}

export function formatRecapLine(r: HostRecap, style: Style): string {
  const kind: TaskStatus | 'unreachable' = r.unreachable ? 'unreachable' : r.failed ? 'failed' : r.changed ? 'changed' : 'ok';
  const counts = `ok=${r.ok} changed=${r.changed} failed=${r.failed} skipped=${r.skipped} unreachable=${r.unreachable}`;
  const why = r.error ? `  (${r.error.message})` : '';
  return `${tint(style, kind, r.host.padEnd(style.hostWidth))} : ${counts}${why}`;
}

export function formatRecap(report: RunReport, style: Style): string {
  const head = `\n${rule('RECAP')}`;
  const lines = report.recap.map((r) => formatRecapLine(r, style));
  const tail = [
    report.interrupted ? 'interrupted: no command was started after the signal; run again to finish' : undefined,
    `${report.check ? 'check mode: nothing was changed; ' : ''}${(report.elapsedMs / 1000).toFixed(2)} s`,
  ].filter((l): l is string => l !== undefined);
  return [head, ...lines, ...tail].join('\n');
}

/** The `--json` document: everything, and nothing else goes to stdout. */
export function jsonReport(report: RunReport, exitCode: number, showDiff: boolean): string {
  const results = showDiff ? report.results : report.results.map((r) => ({ ...r, changes: r.changes.map((c) => ({ summary: c.summary })) }));
  return JSON.stringify({ ...report, results, exitCode }, null, 2);
}
