// A self-contained HTML page for one replay: the metrics table, the targets, a
// glossary and plots over the day (inline SVG, no script, no external asset).
// The first hour (CloudSim starts ~700 hosts before the first consolidation) is
// drawn to scale; when it would flatten the rest, the rest of the day gets a
// second plot. Checked as a reader sees it in headless Chromium
// (test/balancer/sim/report-browser.test.ts): nothing runs off the page at a
// phone's width, no label overlaps or is cut, no plot text under 9 px.
import type { Reference } from './reference.ts';
import type { SimResult } from './simulate.ts';
import { INTERVAL } from './model.ts';
import { activeAfterFirstHour, predictionText } from './table.ts';
import { targetMargin, targetValue, type Target, type Yardstick } from './targets.ts';

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
  /** A dashed line at this value, with its label (a threshold). */
  readonly line?: { readonly value: number; readonly label: string };
  /** Another series drawn behind in grey for comparison (the same day without balancing); the legend names both. */
  readonly behind?: { readonly values: readonly number[]; readonly label: string; readonly front: string };
}

// The plots' user units: an 860 × 220 box, drawn at least 600 px wide (the
// page scrolls the plot sideways on a narrower screen), so 13-unit axis text
// is never under 9 px.
const W = 860;
const H = 220;
export const PLOT_MIN_WIDTH = 600;

/** One plot: values per interval against the hour of the day. */
export function chart(title: string, unit: string, values: readonly number[], color: string, options: ChartOptions = {}): string {
  const bars = options.bars ?? false;
  const step = options.step ?? INTERVAL;
  const offset = options.offset ?? 0;
  const L = 60;
  const R = 18;
  const T = 36;
  const B = 32;
  const n = values.length;
  const max = scaleTop([...values, ...(options.behind?.values ?? []), options.line?.value ?? 0], options.counts ?? false);
  const x = (i: number): number => L + ((W - L - R) * i) / Math.max(1, n);
  const y = (v: number): number => T + (H - T - B) * (1 - Math.min(v, max) / max);
  const parts: string[] = [];
  parts.push(`<text x="${L}" y="20" class="t">${esc(title)}</text>`);
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="g"/>`);
    const label = Number.isInteger(v) ? String(v) : v < 10 ? v.toFixed(1) : String(Math.round(v));
    parts.push(`<text x="${L - 7}" y="${(y(v) + 4.5).toFixed(1)}" class="a" text-anchor="end">${label}</text>`);
  }
  const first = (offset * step) / 3600;
  const hours = ((n + offset) * step) / 3600;
  for (let h = Math.ceil(first / 3) * 3; h <= hours + 1e-9; h += 3) {
    const xi = x((h * 3600) / step - offset);
    parts.push(`<text x="${xi.toFixed(1)}" y="${H - 10}" class="a" text-anchor="middle">${h} h</text>`);
  }
  parts.push(`<text x="${W - R}" y="20" class="a" text-anchor="end">${esc(unit)}</text>`);
  const polyline = (series: readonly number[], stroke: string, width: number): string =>
    `<polyline points="${series.map((v, i) => `${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}" fill="none" stroke="${stroke}" stroke-width="${width}"/>`;
  if (options.behind) {
    parts.push(polyline(options.behind.values, '#c3c8d0', 1.4));
    parts.push(`<text x="${W - R - 40}" y="20" class="a" text-anchor="end"><tspan fill="${color}">━ ${esc(options.behind.front)}</tspan>  <tspan fill="#9aa1ab">━ ${esc(options.behind.label)}</tspan></text>`);
  }
  if (bars) {
    const w = Math.max(1, (W - L - R) / Math.max(1, n) - 0.5);
    values.forEach((v, i) => {
      if (v > 0) parts.push(`<rect x="${x(i).toFixed(1)}" y="${y(v).toFixed(1)}" width="${w.toFixed(2)}" height="${(y(0) - y(v)).toFixed(1)}" fill="${color}"/>`);
    });
  } else {
    parts.push(polyline(values, color, 1.8));
  }
  if (options.line) {
    const ly = y(options.line.value).toFixed(1);
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${ly}" y2="${ly}" class="th"/>`);
    parts.push(`<text x="${W - R - 4}" y="${(Number(ly) - 5).toFixed(1)}" class="a th-label" text-anchor="end">${esc(options.line.label)}</text>`);
  }
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg>`;
}

/** The page around a report's body: one style for both reports. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:920px;margin:2em auto;padding:0 1em;color:#1d2330}
h1{font-size:1.45em;margin-bottom:.2em;overflow-wrap:anywhere} p.lead{color:#444;margin-top:0}
pre{background:#f5f6f8;padding:.8em 1em;border-radius:6px;overflow-x:auto;font-size:13px}
section{margin:1.6em 0;overflow-x:auto} svg{display:block;width:100%;min-width:${PLOT_MIN_WIDTH}px}
svg .t{font-weight:600;font-size:15px;fill:#1d2330} svg .a{font-size:13px;fill:#667}
svg .g{stroke:#e3e6ea;stroke-width:1} svg .th{stroke:#1d2330;stroke-width:1.2;stroke-dasharray:6 4} svg .th-label{fill:#1d2330}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.2em 1em} dt{color:#667} dd{margin:0;overflow-wrap:anywhere}
@media (max-width:560px){dl{grid-template-columns:minmax(0,1fr)} dd{margin-bottom:.4em}}
.met{color:#047857;font-weight:600} .missed{color:#b91c1c;font-weight:600}
table.targets{border-collapse:collapse;margin:.4em 0} table.targets td,table.targets th{padding:.15em .8em .15em 0;text-align:left} table.targets td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
</style></head><body>
${body}
</body></html>
`;
}

export interface ReportExtras {
  /** How the VMs were numbered (it sets each VM's type), for the cluster line. */
  readonly fileOrder?: string;
  /** The consolidation targets and where their limits come from (consolidate only). */
  readonly targets?: { readonly rows: readonly Target[]; readonly yardstick: Yardstick };
}

/** The published (or replayed) figures a strategy is read against: its own policy in CloudSim, else MFPED. */
function yardstickOf(strategy: string, refs: readonly Reference[]): Reference | undefined {
  const own = strategy === 'thr-mmt' ? 'THR-MMT-0.8' : 'MFPED';
  return refs.find((x) => x.policy === own);
}

export function htmlReport(title: string, r: SimResult, table: string, refs: readonly Reference[], extras: ReportExtras = {}): string {
  const s = r.series;
  const cumulative = s.energyKWh.reduce<number[]>((acc, v) => [...acc, (acc[acc.length - 1] ?? 0) + v], []);
  const m = r.metrics;
  const best = yardstickOf(r.config.strategy, refs);
  const by = best ? `${best.source ?? 'CloudSim'} ${best.policy}` : undefined;
  const lead = best
    ? `${m.migrations.toLocaleString('en')} migrations against ${by}'s ${best.migrations.toLocaleString('en')}; ` +
      `${m.energyKWh.toFixed(1)} kWh against ${best.energyKWh.toFixed(1)}; SLATAH ${(m.slatah * 100).toFixed(2)} % against ${((best.slatah ?? 0) * 100).toFixed(2)} %.`
    : `${m.migrations.toLocaleString('en')} migrations, ${m.energyKWh.toFixed(1)} kWh, SLATAH ${(m.slatah * 100).toFixed(2)} %.`;
  return page(
    title,
    `<h1>${esc(title)}</h1>
<p class="lead">${esc(lead)}</p>
<dl><dt>cluster</dt><dd>${r.hosts} hosts (HP ML110 G4 / G5), ${r.vms} VMs${extras.fileOrder ? ` (files in ${esc(extras.fileOrder)})` : ''}, ${r.intervals} intervals of 5 min; energy and SLA time counted from the first update at 5 min, as CloudSim counts them</dd>
<dt>strategy</dt><dd>${esc(r.config.strategy)}: ${esc(settingsText(r.config.settings))}; ${r.config.maxMigrationsPerRun >= 1e9 ? 'no limit on moves per run' : `at most ${r.config.maxMigrationsPerRun} moves per run`}</dd>
<dt>prediction against reality</dt><dd>${esc(predictionText(r.prediction))}</dd>
<dt>physical lower bound</dt><dd>${r.lowerBoundKWh.toFixed(2)} kWh (every requested MIPS at the best watts per MIPS of any host); this run ${(m.energyKWh / r.lowerBoundKWh).toFixed(2)} × it</dd>
<dt>active hosts after the first hour</dt><dd>${activeAfterFirstHour(s.activeHosts).toFixed(1)} on average</dd>
<dt>migrations by kind</dt><dd>${esc(Object.entries(r.byKind).map(([k, v]) => `${k} ${v}`).join(', ') || 'none')}</dd></dl>
${extras.targets ? targetsHtml(extras.targets.rows, extras.targets.yardstick) : ''}
<pre>${esc(table)}</pre>
${glossary(['SLATAH', 'PDM', 'SLAV', 'ESV'])}
${plots('Active hosts', 'hosts', s.activeHosts, '#2563eb', { counts: true })}
${plots('Overloaded hosts (asking for more CPU than they have)', 'hosts', s.overloadedHosts, '#dc2626', { counts: true })}
${plots('Migrations per 5-minute interval', 'migrations', s.migrations, '#7c3aed', { bars: true, counts: true })}
${plots(`Power drawn by the active hosts: ${cumulative[cumulative.length - 1]?.toFixed(1) ?? 0} kWh over the day`, 'kW', s.energyKWh.map((kwh) => (kwh * 3600) / INTERVAL), '#059669')}`,
  );
}

/** The targets as a table: each one met or MISSED, with its value, its limit and how far from it. */
export function targetsHtml(rows: readonly Target[], y: Yardstick): string {
  const met = rows.filter((t) => t.met).length;
  const body = rows
    .map((t) => `<tr><td class="${t.met ? 'met' : 'missed'}">${t.met ? 'met' : 'MISSED'}</td><td>${esc(t.name)}</td><td class="n">${esc(targetValue(t.name, t.value))}</td><td class="n">limit ${esc(targetValue(t.name, t.limit))}</td><td class="n">${esc(targetMargin(t))}</td></tr>`)
    .join('\n');
  return `<section class="targets-block"><b>Targets against ${esc(y.source)}: ${met} of ${rows.length} met</b>
<table class="targets">
${body}
</table></section>`;
}

/** The whole day to scale; when its first hour dwarfs the rest, the rest again on its own scale. */
export function plots(title: string, unit: string, values: readonly number[], color: string, options: ChartOptions = {}): string {
  const day = `<section>${chart(title, unit, values, color, options)}</section>`;
  if (!dominated(values)) return day;
  const hour = Math.round(3600 / (options.step ?? INTERVAL));
  return `${day}\n<section>${chart(`${title}, after the first hour`, unit, values.slice(hour), color, { ...options, offset: hour })}</section>`;
}

const TERMS: Record<string, string> = {
  SLATAH: 'SLA time per active host: the share of the time hosts were on during which one asked for more CPU than it has.',
  PDM: 'Performance degradation due to migrations: the share of all requested CPU lost while VMs moved (a moving VM gets 10 % less).',
  SLAV: "SLA violation: SLATAH × PDM, CloudSim's single figure for both.",
  ESV: 'Energy × SLAV: lower is better on both at once.',
};

/** The glossary of the terms a page's table uses. */
export function glossary(terms: readonly (keyof typeof TERMS)[]): string {
  return `<dl class="glossary">\n${terms.map((t) => `<dt>${t}</dt><dd>${esc(TERMS[t] ?? '')}</dd>`).join('\n')}\n</dl>`;
}

// How each setting of the strategies reads: shares of a host as percentages,
// durations in minutes or hours, windows in measurements.
const SHARES = new Set(['high', 'low', 'threshold', 'fallback', 'target']);
const SECONDS = new Set(['cooldown', 'cooldownMemory', 'history', 'intervalS']);
const WINDOWS = new Set(['overloadWindow', 'calmWindow']);

/** Seconds as a person reads them: "10 min", "24 h", "45 s" (a no-break space keeps the unit with its number). */
export function duration(seconds: number): string {
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600}\u00a0h`;
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60}\u00a0min`;
  return `${seconds}\u00a0s`;
}

function settingValue(key: string, v: unknown): string {
  if (Array.isArray(v)) return v.length > 0 ? v.join(' ') : 'none';
  if (typeof v !== 'number') return String(v);
  if (SHARES.has(key)) return `${+(v * 100).toFixed(2)}\u00a0%`;
  if (SECONDS.has(key)) return duration(v);
  if (WINDOWS.has(key)) return `${v}\u00a0measurement${v === 1 ? '' : 's'}`;
  if (key === 'safety') return `×\u00a0${v}`;
  return String(v);
}

/** A strategy's settings for a person: "high 90 %, low 40 %, cooldown 1 h, …" (it wraps; JSON did not). */
export function settingsText(settings: object): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k} ${settingValue(k, v)}`)
    .join(', ');
}
