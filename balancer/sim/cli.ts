// `hvmctl balance simulate --trace DIR [--policy hvmctl|thr-mmt] [--hosts N] [--json] [--report FILE.html]`
// Dispatched from src/cli/balance.ts; prints, returns the exit code.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../../src/errors.ts';
import type { CliIo } from '../../src/cli/io.ts';
import type { PolicyName } from '../types.ts';
import { simConfig } from './config.ts';
import { knownDay, REFERENCES } from './reference.ts';
import { htmlReport } from './report.ts';
import { simulate } from './simulate.ts';
import { deviation, metricsTable } from './table.ts';
import { loadTrace } from './trace.ts';

export const simulateUsage = `usage: hvmctl balance simulate --trace DIR [--policy hvmctl|thr-mmt] [--hosts N] [--json] [--report FILE.html]

Replays a day of PlanetLab CPU traces (one file per VM, one percentage per 5 minutes)
on CloudSim's cluster model, calling the balancer's decide() every 5 minutes, and
prints energy, SLATAH, PDM, SLAV, ESV and migrations (beside CloudSim's published
figures when DIR is one of the days 20110303 / 20110306).

  --trace DIR       the trace directory (required)
  --policy NAME     hvmctl (ours, default) or thr-mmt (CloudSim THR-MMT-0.8)
  --hosts N         hosts in the simulated cluster (default 800)
  --json            print the result as JSON
  --report FILE     also write an HTML page with plots over the day`;

export async function runSimulate(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        trace: { type: 'string' },
        policy: { type: 'string', default: 'hvmctl' },
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
  if (!values.trace) throw new UsageError('balance simulate: --trace DIR is required', 'e.g. --trace ../shared/traces/planetlab/20110303');
  const policy = values.policy;
  if (policy !== 'hvmctl' && policy !== 'thr-mmt') {
    throw new UsageError(`balance simulate: unknown policy '${policy}'`, 'use --policy hvmctl or --policy thr-mmt');
  }
  const hosts = Number(values.hosts);
  if (!Number.isInteger(hosts) || hosts < 1) throw new UsageError(`balance simulate: --hosts must be a positive integer, not '${values.hosts}'`);
  const dir = resolve(io.cwd, values.trace);
  const started = performance.now();
  const trace = await loadTrace(dir);
  const result = simulate(trace, { config: simConfig(policy as PolicyName), hosts });
  const seconds = (performance.now() - started) / 1000;
  const day = knownDay(dir);
  const refs = day ? (REFERENCES[day] ?? []) : [];
  const label = policy === 'thr-mmt' ? 'hvmctl sim THR-MMT-0.8' : 'hvmctl (ours)';
  const table = metricsTable(label, result.metrics, refs);
  if (values.report) {
    const file = resolve(io.cwd, values.report);
    await writeFile(file, htmlReport(`Trace replay ${day ?? dir}: ${label}`, result, table, refs));
  }
  if (values.json) {
    io.out(JSON.stringify({ trace: dir, day, policy, hosts, vms: result.vms, seconds, metrics: result.metrics, byKind: result.byKind, references: refs }, null, 2));
    return 0;
  }
  io.out(`${trace.names.length} VMs on ${hosts} hosts, ${trace.length} intervals of 5 min, replayed in ${seconds.toFixed(2)} s (decide: ${(result.decideMs / 1000).toFixed(2)} s)`);
  io.out(table);
  const thr = refs.find((r) => r.policy === 'THR-MMT-0.8');
  if (thr && policy === 'thr-mmt') {
    const m = result.metrics;
    io.out(
      `vs CloudSim THR-MMT-0.8: energy ${deviation(m.energyKWh, thr.energyKWh)}, migrations ${deviation(m.migrations, thr.migrations)}, ` +
        `SLATAH ${deviation(m.slatah, thr.slatah ?? 0)}`,
    );
  }
  if (values.report) io.out(`report written to ${values.report}`);
  return 0;
}
