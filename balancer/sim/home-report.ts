// The home scenario's HTML page: the table, then the home's utilisation (with
// the 80 % line it must stay under, and in grey the same day without
// balancing), the VMs away and the moves per run over the day (inline SVG,
// nothing external; the same page style as report.ts).
import type { HomeReplay } from './home-replay.ts';
import type { HomeScenario } from './home-scenario.ts';
import { OVERLOAD } from './home-scenario.ts';
import { chart, duration, esc, glossary, page, settingsText } from './report.ts';
import { predictionText } from './table.ts';

/** `unbalanced`: the same day with no move, drawn behind the home's utilisation. */
export function homeReport(title: string, s: HomeScenario, r: HomeReplay, table: string, unbalanced: HomeReplay): string {
  const m = r.metrics;
  return page(
    title,
    `<h1>${esc(title)}</h1>
<p class="lead">${m.overloadMinutes} minutes overloaded, ${m.migrations} migrations, ${m.remigrations} remigrations, ${m.vmHoursAway.toFixed(1)} VM-hours away from home.</p>
<dl><dt>scenario</dt><dd>${s.vms.length} PlanetLab VMs on one home of ${Math.round(s.capacity)} MIPS (above ${OVERLOAD * 100} % for ${Math.round(s.peakShare * 100)} % of the day without balancing), two empty helpers of the same size, a run every ${duration(s.step)}</dd>
<dt>strategy</dt><dd>${esc(r.config.strategy)}: ${esc(settingsText(r.config.settings))}</dd>
<dt>prediction against reality</dt><dd>${esc(predictionText(m.prediction))}</dd></dl>
<pre>${esc(table)}</pre>
${glossary(['SLATAH', 'PDM'])}
<section>${chart('Home utilisation as measured', '%', r.series.homeUtil.map((u) => u * 100), '#dc2626', {
    step: s.step,
    line: { value: OVERLOAD * 100, label: `overloaded above ${OVERLOAD * 100} %` },
    behind: { values: unbalanced.series.homeUtil.map((u) => u * 100), label: 'no balancing', front: r.config.strategy },
  })}</section>
<section>${chart('VMs away from home', 'VMs', r.series.away, '#2563eb', { step: s.step, counts: true })}</section>
<section>${chart('Moves per run', 'moves', r.series.moves, '#7c3aed', { step: s.step, bars: true, counts: true })}</section>`,
  );
}
