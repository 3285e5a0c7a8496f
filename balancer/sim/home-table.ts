// The home scenario's figures as a plain-text table, one row per strategy.
import type { HomeReplay } from './home-replay.ts';

const pct = (x: number, digits = 2): string => `${(x * 100).toFixed(digits)} %`;

export function homeTable(rows: readonly { readonly label: string; readonly replay: HomeReplay }[]): string {
  const head = ['strategy', 'overload min', 'saturated min', 'migrations', 'remigrations', 'bounces', 'VM-h away', 'SLATAH', 'PDM'];
  const cells = rows.map(({ label, replay: { metrics: m } }) => [
    label,
    String(m.overloadMinutes),
    String(m.saturatedMinutes),
    String(m.migrations),
    String(m.remigrations),
    String(m.bounces),
    m.vmHoursAway.toFixed(1),
    pct(m.slatah),
    pct(m.pdm, 4),
  ]);
  const all = [head, ...cells];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
