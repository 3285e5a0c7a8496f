// The metrics as a plain-text table, ours beside the published figures.
import type { Metrics } from './metrics.ts';
import { INTERVAL } from './model.ts';
import type { Reference } from './reference.ts';

const pct = (x: number | undefined, digits = 2): string => (x === undefined ? '–' : `${(x * 100).toFixed(digits)} %`);

export function metricsTable(label: string, m: Metrics, refs: readonly Reference[]): string {
  const rows: string[][] = [['policy', 'energy kWh', 'migrations', 'SLATAH', 'PDM', 'SLAV', 'ESV (kWh×SLAV)']];
  rows.push([label, m.energyKWh.toFixed(2), String(m.migrations), pct(m.slatah), pct(m.pdm, 3), pct(m.slav, 5), m.esv.toFixed(5)]);
  for (const r of refs) {
    rows.push([
      `${r.source ?? 'CloudSim'} ${r.policy}`,
      r.energyKWh.toFixed(2),
      String(r.migrations),
      pct(r.slatah),
      pct(r.pdm, 3),
      pct(r.slav, 5),
      r.slav === undefined ? '–' : (r.energyKWh * r.slav).toFixed(5),
    ]);
  }
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r, j) => {
      const line = r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  ');
      return j === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/** How far `ours` is from `ref`, as a signed percentage. */
export function deviation(ours: number, ref: number): string {
  const d = ((ours - ref) / ref) * 100;
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)} %`;
}

/** "1899 host loads predicted by the plans; the next measurement was 4.20 points below the prediction on average, 8.95 points away from it (mean absolute)". */
export function predictionText(p: { count: number; mean: number; meanAbs: number }): string {
  return (
    `${p.count} host loads predicted by the plans; the next measurement was ${(Math.abs(p.mean) * 100).toFixed(2)} points ${p.mean >= 0 ? 'above' : 'below'} the prediction on average, ` +
    `${(p.meanAbs * 100).toFixed(2)} points away from it (mean absolute)`
  );
}

/** The mean number of active hosts after the first hour (CloudSim's forced first placement), per interval. */
export function activeAfterFirstHour(activeHosts: readonly number[]): number {
  const later = activeHosts.slice(3600 / INTERVAL);
  return later.reduce((a, b) => a + b, 0) / Math.max(1, later.length);
}
