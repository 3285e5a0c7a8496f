// `hvmctl balance simulate --trace DIR --strategy NAME [--hosts N] [--json] [--report FILE.html]`
// Dispatched from src/cli/balance.ts; prints, returns the exit code. The
// strategy is named on the command line and echoed, with its settings, in the
// output: a figure always says which strategy produced it.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../../src/errors.ts';
import type { CliIo } from '../../src/cli/io.ts';
import { CLOUDSIM_CONFIGS } from './config.ts';
import { knownDay, REFERENCES } from './reference.ts';
import { htmlReport } from './report.ts';
import { simulate } from './simulate.ts';
import type { ReplayConfig } from './strategies.ts';
import { deviation, metricsTable } from './table.ts';
import { loadTrace } from './trace.ts';

const NAMES = Object.keys(CLOUDSIM_CONFIGS) as (keyof typeof CLOUDSIM_CONFIGS)[];

export const simulateUsage = `usage: hvmctl balance simulate --trace DIR --strategy ${NAMES.join('|')} [--hosts N] [--json] [--report FILE.html]

Replays a day of PlanetLab CPU traces (one file per VM, one percentage per 5 minutes)
on CloudSim's cluster model, calling the balancer's decide() every 5 minutes with the
named strategy, and prints energy, SLATAH, PDM, SLAV, ESV and migrations (beside
CloudSim's published figures when DIR is one of the days 20110303 / 20110306).

  --trace DIR        the trace directory (required)
  --strategy NAME    consolidate (the agent's pool strategy, default) or thr-mmt
                     (CloudSim THR-MMT-0.8, a yardstick that exists only in replay)
  --hosts N          hosts in the simulated cluster (default 800)
  --json             print the result as JSON (it names the strategy and its settings)
  --report FILE      also write an HTML page with plots over the day`;

/** Short label of a replayed strategy, for tables. */
export function labelOf(config: ReplayConfig): string {
  return config.strategy === 'thr-mmt' ? `replayed THR-MMT-${config.settings.threshold}` : `hvmctl ${config.strategy}`;
}

export async function runSimulate(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        trace: { type: 'string' },
        strategy: { type: 'string', default: 'consolidate' },
        policy: { type: 'string' },
        hosts: { type: 'string', default: '800' },
        json: { type: 'boolean', default: false },
        report: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(`balance simulate: ${(error as Error).message}`, 'run hvmctl balance simulate --help');
  }
  if (values.help) {
    io.out(simulateUsage);
    return 0;
  }
  if (values.policy !== undefined) {
    throw new UsageError('balance simulate: --policy is now --strategy', `use --strategy ${NAMES.join('|')} ('hvmctl' is now 'consolidate')`);
  }
  if (!values.trace) throw new UsageError('balance simulate: --trace DIR is required', 'e.g. --trace ../shared/traces/planetlab/20110303');
  const name = values.strategy;
  if (!Object.hasOwn(CLOUDSIM_CONFIGS, name)) {
    throw new UsageError(`balance simulate: unknown strategy '${name}'`, `use --strategy ${NAMES.join('|')}`);
  }
  const config = CLOUDSIM_CONFIGS[name as keyof typeof CLOUDSIM_CONFIGS];
  const hosts = Number(values.hosts);
  if (!Number.isInteger(hosts) || hosts < 1) throw new UsageError(`balance simulate: --hosts must be a positive integer, not '${values.hosts}'`);
  const dir = resolve(io.cwd, values.trace);
  const started = performance.now();
  const trace = await loadTrace(dir);
  const result = simulate(trace, { config, hosts });
  const seconds = (performance.now() - started) / 1000;
  const day = knownDay(dir);
  const refs = day ? (REFERENCES[day] ?? []) : [];
  const label = labelOf(config);
  const table = metricsTable(label, result.metrics, refs);
  if (values.report) {
    const file = resolve(io.cwd, values.report);
    await writeFile(file, htmlReport(`Trace replay ${day ?? dir}: ${label}`, result, table, refs));
  }
  if (values.json) {
    const { strategy, settings, ...common } = config;
    io.out(JSON.stringify({ trace: dir, day, scenario: 'cloudsim', strategy, settings, common, hosts, vms: result.vms, seconds, metrics: result.metrics, byKind: result.byKind, references: refs }, null, 2));
    return 0;
  }
  io.out(`${trace.names.length} VMs on ${hosts} hosts, ${trace.length} intervals of 5 min, strategy ${config.strategy} ${JSON.stringify(config.settings)}, replayed in ${seconds.toFixed(2)} s (decide: ${(result.decideMs / 1000).toFixed(2)} s)`);
  io.out(table);
  const thr = refs.find((r) => r.policy === 'THR-MMT-0.8');
  if (thr && config.strategy === 'thr-mmt') {
    const m = result.metrics;
    io.out(
      `vs CloudSim THR-MMT-0.8: energy ${deviation(m.energyKWh, thr.energyKWh)}, migrations ${deviation(m.migrations, thr.migrations)}, ` +
        `SLATAH ${deviation(m.slatah, thr.slatah ?? 0)}`,
    );
  }
  if (values.report) io.out(`report written to ${values.report}`);
  return 0;
}
