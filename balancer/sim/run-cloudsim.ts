// `balance simulate` on CloudSim's 800-host model: replay, table beside the
// published figures, JSON, report.
import { basename } from 'node:path';
import { type ReplayOutput, writeReport } from './output.ts';
import { mfpedConfig, thrMmtConfig } from './config.ts';
import { CLOUDSIM_HOSTS, REFERENCES, type Reference } from './reference.ts';
import { htmlReport } from './report.ts';
import { simulate } from './simulate.ts';
import type { ReplayConfig } from './strategies.ts';
import { activeAfterFirstHour, deviation, metricsTable, predictionText } from './table.ts';
import { consolidationTargets, targetsText, type Yardstick } from './targets.ts';
import { loadTrace, type Trace } from './trace.ts';

export interface CloudsimRun {
  readonly dir: string;
  readonly config: ReplayConfig;
  readonly hosts: number;
  readonly json: boolean;
  readonly report: string | undefined;
}

/** How the VMs were numbered: CloudSim's file order for a published day (cloudsim-order.ts), else by name. */
export function orderText(order: Trace['order']): string {
  return { cloudsim: "CloudSim's order, File.listFiles() on the reference machine", name: 'name order', variant: "a variant's own order" }[order];
}

/** Short label of a replayed strategy, for tables. */
export function labelOf(config: ReplayConfig): string {
  if (config.strategy === 'thr-mmt') return `replayed THR-MMT-${config.settings.threshold}`;
  if (config.strategy === 'mfped') return 'replayed MFPED';
  return `hvmctl ${config.strategy}`;
}

export async function runCloudsim(run: CloudsimRun, io: ReplayOutput): Promise<number> {
  const { config, hosts, dir } = run;
  const started = performance.now();
  const trace = await loadTrace(dir);
  const result = simulate(trace, { config, hosts });
  const seconds = (performance.now() - started) / 1000;
  // CloudSim's published figures are for exactly that day's files on its 800 hosts: a subset, a
  // directory merely named like the day, or another host count is compared with yardsticks
  // replayed on the same input instead.
  const day = hosts === CLOUDSIM_HOSTS ? trace.day : undefined;
  const published = day ? (REFERENCES[day] ?? []) : [];
  // A day without published figures gets the yardsticks replayed in this run instead.
  const replayed = published.length > 0 || config.strategy !== 'consolidate' ? [] : yardsticks(trace, hosts);
  const refs = [...published, ...replayed];
  const label = labelOf(config);
  const table = metricsTable(label, result.metrics, refs);
  const m = result.metrics;
  const mfped = refs.find((r) => r.policy === 'MFPED');
  const yardstick: Yardstick | undefined = mfped?.slav === undefined ? undefined : { source: `${mfped.source ?? 'CloudSim'} MFPED`, energyKWh: mfped.energyKWh, migrations: mfped.migrations, slav: mfped.slav };
  const targets = config.strategy === 'consolidate' && yardstick ? consolidationTargets(m, yardstick) : undefined;
  const bound = { kWh: result.lowerBoundKWh, ratio: m.energyKWh / result.lowerBoundKWh };
  if (run.report)
    await writeReport(
      run.report,
      htmlReport(`${day ?? basename(dir)}: ${label} on CloudSim's ${hosts}-host model`, result, table, refs, {
        fileOrder: orderText(trace.order),
        ...(targets && yardstick ? { targets: { rows: targets, yardstick } } : {}),
      }),
    );
  if (run.json) {
    const { strategy, settings, ...common } = config;
    io.out(JSON.stringify({ trace: dir, day, fileOrder: trace.order, scenario: 'cloudsim', strategy, settings, common, hosts, vms: result.vms, seconds, metrics: m, byKind: result.byKind, prediction: result.prediction, lowerBound: bound, targets, references: refs }, null, 2));
    return 0;
  }
  io.out(`${trace.names.length} VMs (files in ${orderText(trace.order)}) on ${hosts} hosts, ${trace.length} intervals of 5 min, strategy ${config.strategy} ${JSON.stringify(config.settings)}, replayed in ${seconds.toFixed(2)} s (decide: ${(result.decideMs / 1000).toFixed(2)} s)`);
  io.out(table);
  io.out(`physical lower bound ${bound.kWh.toFixed(2)} kWh (every requested MIPS at the best watts per MIPS of any host, at 100 %); ${label}: ${bound.ratio.toFixed(2)} × the bound`);
  io.out(`prediction against reality: ${predictionText(result.prediction)}`);
  io.out(`active hosts after the first hour: ${activeAfterFirstHour(result.series.activeHosts).toFixed(1)} on average`);
  const own = { 'thr-mmt': 'THR-MMT-0.8', mfped: 'MFPED' }[config.strategy as string];
  const ref = published.find((r) => r.policy === own);
  if (ref) {
    io.out(
      `vs CloudSim ${ref.policy}: energy ${deviation(m.energyKWh, ref.energyKWh)}, migrations ${deviation(m.migrations, ref.migrations)}, ` +
        `SLATAH ${deviation(m.slatah, ref.slatah ?? 0)}, SLAV ${deviation(m.slav, ref.slav ?? 0)}`,
    );
  }
  if (targets && yardstick) io.out(targetsText(targets, yardstick));
  if (run.report) io.out(`report written to ${run.report}`);
  return 0;
}

/** THR-MMT-0.8 and MFPED replayed on the same trace, as reference rows. */
function yardsticks(trace: Trace, hosts: number): Reference[] {
  return [
    { name: 'THR-MMT-0.8', config: thrMmtConfig },
    { name: 'MFPED', config: mfpedConfig },
  ].map(({ name, config }) => {
    const r = simulate(trace, { config, hosts }).metrics;
    return { policy: name, source: 'replayed', energyKWh: r.energyKWh, migrations: r.migrations, slatah: r.slatah, pdm: r.pdm, slav: r.slav };
  });
}
