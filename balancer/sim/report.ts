// A self-contained HTML page for one replay: the metrics table, a glossary and
// plots over the day (inline SVG, no script, no external asset). The first hour
// (CloudSim starts ~700 hosts before the first consolidation) is drawn to scale;
// when it would flatten the rest, the rest of the day gets a second plot.
import type { Reference } from './reference.ts';
import type { SimResult } from './simulate.ts';
import { INTERVAL } from './model.ts';
import { predictionText } from './table.ts';

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function niceMax(v: number): number {
  if (v <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Whether a few early values (the first hour) would flatten the rest of the day. */
export function dominated(values: readonly number[]): boolean {
  const max = Math.max(0, ...values);
  const sorted = [...values].sort((a, b) => a - b);
  const p98 = sorted[Math.floor(sorted.length * 0.98)] ?? max;
  return p98 > 0 && max > 3 * p98;
}

function scaleTop(values: readonly number[], counts: boolean): number {
  const top = niceMax(Math.max(0, ...values));
  // counts get integer ticks (the axis has 4 steps)
  return counts && top % 4 !== 0 ? Math.ceil(top / 4) * 4 : top;
}

export interface ChartOptions {
  readonly bars?: boolean;
  /** Seconds per value (default the trace's 300). */
  readonly step?: number;
  /** Whole things (hosts, migrations): integer ticks. */
  readonly counts?: boolean;
  /** Index of the first value in the day (a plot of the rest of the day starts later). */
  readonly offset?: number;
}

/** One plot: values per interval against the hour of the day. */
export function chart(title: string, unit: string, values: readonly number[], color: string, options: ChartOptions = {}): string {
  const bars = options.bars ?? false;
  const step = options.step ?? INTERVAL;
  const offset = options.offset ?? 0;
  const W = 860;
  const H = 220;
  const L = 56;
  const R = 16;
  const T = 34;
  const B = 30;
  const n = values.length;
  const max = scaleTop(values, options.counts ?? false);
  const x = (i: number): number => L + ((W - L - R) * i) / Math.max(1, n);
  const y = (v: number): number => T + (H - T - B) * (1 - Math.min(v, max) / max);
  const parts: string[] = [];
  parts.push(`<text x="${L}" y="20" class="t">${esc(title)}</text>`);
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="g"/>`);
    const label = Number.isInteger(v) ? String(v) : v < 10 ? v.toFixed(1) : String(Math.round(v));
    parts.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" class="a" text-anchor="end">${label}</text>`);
  }
  const first = (offset * step) / 3600;
  const hours = ((n + offset) * step) / 3600;
  for (let h = Math.ceil(first / 3) * 3; h <= hours; h += 3) {
    const xi = x((h * 3600) / step - offset);
    parts.push(`<text x="${xi.toFixed(1)}" y="${H - 10}" class="a" text-anchor="middle">${h} h</text>`);
  }
  parts.push(`<text x="${W - R}" y="20" class="a" text-anchor="end">${esc(unit)}</text>`);
  if (bars) {
    const w = Math.max(1, (W - L - R) / Math.max(1, n) - 0.5);
    values.forEach((v, i) => {
      if (v > 0) parts.push(`<rect x="${x(i).toFixed(1)}" y="${y(v).toFixed(1)}" width="${w.toFixed(2)}" height="${(y(0) - y(v)).toFixed(1)}" fill="${color}"/>`);
    });
  } else {
    const pts = values.map((v, i) => `${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
  }
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(title)}">${parts.join('')}</svg>`;
}

export function htmlReport(title: string, r: SimResult, table: string, refs: readonly Reference[]): string {
  const s = r.series;
  const cumulative = s.energyKWh.reduce<number[]>((acc, v) => [...acc, (acc[acc.length - 1] ?? 0) + v], []);
  const m = r.metrics;
  const best = refs.find((x) => x.policy === 'THR-MMT-0.8');
  const lead = best
    ? `${m.migrations.toLocaleString('en')} migrations against CloudSim THR-MMT-0.8's ${best.migrations.toLocaleString('en')}; ` +
      `${m.energyKWh.toFixed(1)} kWh against ${best.energyKWh.toFixed(1)}; SLATAH ${(m.slatah * 100).toFixed(2)} % against ${((best.slatah ?? 0) * 100).toFixed(2)} %.`
    : `${m.migrations.toLocaleString('en')} migrations, ${m.energyKWh.toFixed(1)} kWh, SLATAH ${(m.slatah * 100).toFixed(2)} %.`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:920px;margin:2em auto;padding:0 1em;color:#1d2330}
h1{font-size:1.45em;margin-bottom:.2em} p.lead{color:#444;margin-top:0}
pre{background:#f5f6f8;padding:.8em 1em;border-radius:6px;overflow-x:auto;font-size:13px}
section{margin:1.6em 0} svg .t{font-weight:600;font-size:14px;fill:#1d2330} svg .a{font-size:11px;fill:#667}
svg .g{stroke:#e3e6ea;stroke-width:1} dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em} dt{color:#667}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="lead">${esc(lead)}</p>
<dl><dt>cluster</dt><dd>${r.hosts} hosts (HP ML110 G4 / G5), ${r.vms} VMs, ${r.intervals} intervals of 5 min</dd>
<dt>strategy</dt><dd>${esc(r.config.strategy)}: ${esc(settingsText(r.config.settings))}; ${r.config.maxMigrationsPerRun >= 1e9 ? 'no limit on moves per run' : `at most ${r.config.maxMigrationsPerRun} moves per run`}</dd>
<dt>prediction against reality</dt><dd>${esc(predictionText(r.prediction))}</dd>
<dt>physical lower bound</dt><dd>${r.lowerBoundKWh.toFixed(2)} kWh (every requested MIPS at the best watts per MIPS of any host); this run ${(m.energyKWh / r.lowerBoundKWh).toFixed(2)} × it</dd>
<dt>migrations by kind</dt><dd>${esc(Object.entries(r.byKind).map(([k, v]) => `${k} ${v}`).join(', ') || 'none')}</dd></dl>
<pre>${esc(table)}</pre>
${GLOSSARY}
${plots('Active hosts', 'hosts', s.activeHosts, '#2563eb', { counts: true })}
${plots('Overloaded hosts (asking for more CPU than they have)', 'hosts', s.overloadedHosts, '#dc2626', { counts: true })}
${plots('Migrations per 5-minute interval', 'migrations', s.migrations, '#7c3aed', { bars: true, counts: true })}
${plots(`Power drawn by the active hosts: ${cumulative[cumulative.length - 1]?.toFixed(1) ?? 0} kWh over the day`, 'kW', s.energyKWh.map((kwh) => (kwh * 3600) / INTERVAL), '#059669')}
</body></html>
`;
}

/** The whole day to scale; when its first hour dwarfs the rest, the rest again on its own scale. */
export function plots(title: string, unit: string, values: readonly number[], color: string, options: ChartOptions = {}): string {
  const day = `<section>${chart(title, unit, values, color, options)}</section>`;
  if (!dominated(values)) return day;
  const hour = Math.round(3600 / (options.step ?? INTERVAL));
  return `${day}\n<section>${chart(`${title}, after the first hour`, unit, values.slice(hour), color, { ...options, offset: hour })}</section>`;
}

export const GLOSSARY = `<dl class="glossary">
<dt>SLATAH</dt><dd>SLA time per active host: the share of the time hosts were on during which one asked for more CPU than it has.</dd>
<dt>PDM</dt><dd>Performance degradation due to migrations: the share of all requested CPU lost while VMs moved (a moving VM gets 10 % less).</dd>
<dt>SLAV</dt><dd>SLA violation: SLATAH × PDM, CloudSim's single figure for both.</dd>
<dt>ESV</dt><dd>Energy × SLAV: lower is better on both at once.</dd>
</dl>`;

/** A strategy's settings for a person: "high 0.9, low 0.4, cooldown 3600, …" (it wraps; JSON did not). */
export function settingsText(settings: object): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k} ${Array.isArray(v) ? (v.length > 0 ? v.join(' ') : 'none') : String(v)}`)
    .join(', ');
}
