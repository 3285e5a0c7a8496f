// `balance simulate` on CloudSim's 800-host model: replay, table beside the
// published figures, JSON, report.
import { writeFile } from 'node:fs/promises';
import type { CliIo } from '../../src/cli/io.ts';
import { knownDay, REFERENCES } from './reference.ts';
import { htmlReport } from './report.ts';
import { simulate } from './simulate.ts';
import type { ReplayConfig } from './strategies.ts';
import { deviation, metricsTable } from './table.ts';
import { loadTrace } from './trace.ts';

export interface CloudsimRun {
  readonly dir: string;
  readonly config: ReplayConfig;
  readonly hosts: number;
  readonly json: boolean;
  readonly report: string | undefined;
}

/** Short label of a replayed strategy, for tables. */
export function labelOf(config: ReplayConfig): string {
  return config.strategy === 'thr-mmt' ? `replayed THR-MMT-${config.settings.threshold}` : `hvmctl ${config.strategy}`;
}

export async function runCloudsim(run: CloudsimRun, io: CliIo): Promise<number> {
  const { config, hosts, dir } = run;
  const started = performance.now();
  const trace = await loadTrace(dir);
  const result = simulate(trace, { config, hosts });
  const seconds = (performance.now() - started) / 1000;
  const day = knownDay(dir);
  const refs = day ? (REFERENCES[day] ?? []) : [];
  const label = labelOf(config);
  const table = metricsTable(label, result.metrics, refs);
  if (run.report) await writeFile(run.report, htmlReport(`Trace replay ${day ?? dir}: ${label}`, result, table, refs));
  if (run.json) {
    const { strategy, settings, ...common } = config;
    io.out(JSON.stringify({ trace: dir, day, scenario: 'cloudsim', strategy, settings, common, hosts, vms: result.vms, seconds, metrics: result.metrics, byKind: result.byKind, references: refs }, null, 2));
    return 0;
  }
  io.out(`${trace.names.length} VMs on ${hosts} hosts, ${trace.length} intervals of 5 min, strategy ${config.strategy} ${JSON.stringify(config.settings)}, replayed in ${seconds.toFixed(2)} s (decide: ${(result.decideMs / 1000).toFixed(2)} s)`);
  io.out(table);
  const thr = refs.find((r) => r.policy === 'THR-MMT-0.8');
  if (thr && config.strategy === 'thr-mmt') {
    const m = result.metrics;
    io.out(`vs CloudSim THR-MMT-0.8: energy ${deviation(m.energyKWh, thr.energyKWh)}, migrations ${deviation(m.migrations, thr.migrations)}, SLATAH ${deviation(m.slatah, thr.slatah ?? 0)}`);
  }
  if (run.report) io.out(`report written to ${run.report}`);
  return 0;
}
