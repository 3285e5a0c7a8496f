// The home scenario's HTML page: the table, then the home's utilisation, the
// VMs away and the moves per run over the day (inline SVG, nothing external).
import type { HomeReplay } from './home-replay.ts';
import type { HomeScenario } from './home-scenario.ts';
import { OVERLOAD } from './home-scenario.ts';
import { chart, esc, GLOSSARY, settingsText } from './report.ts';
import { predictionText } from './table.ts';

export function homeReport(title: string, s: HomeScenario, r: HomeReplay, table: string): string {
  const m = r.metrics;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#1d2330}
pre{background:#f5f6f8;padding:.8em 1em;border-radius:6px;overflow-x:auto;font-size:13px}
section{margin:1.6em 0} svg .t{font-weight:600;font-size:14px;fill:#1d2330} svg .a{font-size:11px;fill:#667} svg .g{stroke:#e3e6ea;stroke-width:1} dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em} dt{color:#667} dd{margin:0}</style></head><body>
<h1>${esc(title)}</h1>
<p>${s.vms.length} PlanetLab VMs on one home of ${Math.round(s.capacity)} MIPS (above ${OVERLOAD * 100} % for ${Math.round(s.peakShare * 100)} % of the day without balancing), two empty helpers of the same size, a run every ${s.step} s.
${m.overloadMinutes} minutes overloaded, ${m.migrations} migrations, ${m.remigrations} remigrations, ${m.vmHoursAway.toFixed(1)} VM-hours away.</p>
<p>strategy <b>${esc(r.config.strategy)}</b>: ${esc(settingsText(r.config.settings))}</p>
<p>prediction against reality: ${esc(predictionText(m.prediction))}</p>
<pre>${esc(table)}</pre>
${GLOSSARY}
<section>${chart('Home utilisation as measured (%)', '%', r.series.homeUtil.map((u) => u * 100), '#dc2626', { step: s.step })}</section>
<section>${chart('VMs away from home', 'VMs', r.series.away, '#2563eb', { step: s.step, counts: true })}</section>
<section>${chart('Moves per run', 'moves', r.series.moves, '#7c3aed', { step: s.step, bars: true, counts: true })}</section>
</body></html>
`;
}
