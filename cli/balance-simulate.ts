// `hvmctl balance simulate --trace DIR --strategy NAME [--json] [--report FILE.html] [scenario options]`
// Dispatched from cli/balance.ts; parses, prints, returns the exit code.
// The strategy is named on the command line and echoed, with its settings and
// the scenario it is judged on, in the output: a figure always says which
// strategy produced it.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HvmError, UsageError } from '../src/errors.ts';
import type { CliIo } from './io.ts';
import { REPLAYS } from '../balancer/sim/config.ts';
import { CLOUDSIM_HOSTS } from '../balancer/sim/reference.ts';
import { runCloudsim } from '../balancer/sim/run-cloudsim.ts';
import { runHomeScenario } from '../balancer/sim/run-home.ts';
import { isReplayName } from '../balancer/sim/strategies.ts';

const NAMES = Object.keys(REPLAYS);

export const simulateUsage = `usage: hvmctl balance simulate --trace DIR --strategy ${NAMES.join('|')} [--json] [--report FILE.html]
                                [--hosts N] [--vms N] [--peak-share F]

Replays a day of PlanetLab CPU traces (one file per VM, one percentage per 5 minutes)
through the balancer's decide() with the named strategy, on the scenario it is for:

  home, seed           the seed's cluster: one home hypervisor carrying --vms VMs of the day
                       (default 20), sized so that without balancing it is above 80 % for
                       --peak-share of the day (default 0.1), and two empty helpers; a run a
                       minute. Prints minutes overloaded, migrations, remigrations, VM-hours
                       away, SLATAH, PDM, beside the other strategy and no balancing.
                       home: the default inventory's settings. seed: the thesis' rule.
  consolidate, thr-mmt, mfped
                       CloudSim's 800-host model (--hosts), a decision every 5 minutes;
                       prints energy, SLATAH, PDM, SLAV, ESV and migrations beside CloudSim's
                       published figures for 20110303 / 20110306, and the day's physical lower
                       bound; for consolidate, the targets against MFPED (on a day with no
                       published figures, THR-MMT and MFPED replayed in the same run).
                       thr-mmt (CloudSim's THR-MMT-0.8) and mfped (Moges & Abebe 2019) are
                       yardsticks that exist only in replay.

  --json             print the result as JSON (it names the strategy, its settings and the scenario)
  --report FILE      also write a self-contained HTML page: the figures, the targets, and
                       plots over the day (checked before the replay, written whole)

CloudSim's published figures are used only for exactly a published day's files on 800 hosts;
anything else (a subset, another --hosts) is judged against THR-MMT and MFPED replayed on it.

Exit codes: 0 replayed; 64 bad flags; 65 a trace that cannot be replayed (the file and line
are named); 73 the report cannot be written; 1 the hosts cannot hold the VMs.`;

export async function runSimulate(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        trace: { type: 'string' },
        strategy: { type: 'string' },
        policy: { type: 'string' },
        hosts: { type: 'string', default: String(CLOUDSIM_HOSTS) },
        vms: { type: 'string', default: '20' },
        'peak-share': { type: 'string', default: '0.1' },
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
  if (name === undefined) throw new UsageError('balance simulate: --strategy NAME is required (a figure must say which strategy made it)', `use --strategy ${NAMES.join('|')}`);
  if (!isReplayName(name)) throw new UsageError(`balance simulate: unknown strategy '${name}'`, `use --strategy ${NAMES.join('|')}`);
  // Every flag is checked before anything is read, whichever scenario uses it.
  const count = (flag: string, v: string, max: number): number => {
    const n = /^[0-9]+$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`balance simulate: ${flag} must be a whole number from 1 to ${max}, not '${v}'`);
    return n;
  };
  const hosts = count('--hosts', values.hosts, MAX_HOSTS);
  const vms = count('--vms', values.vms, MAX_VMS);
  const share = /^[0-9.]+$/.test(values['peak-share']) ? Number(values['peak-share']) : Number.NaN;
  if (!(share > 0 && share < 1)) throw new UsageError(`balance simulate: --peak-share must be between 0 and 1, not '${values['peak-share']}'`);
  const report = values.report === undefined ? undefined : resolve(io.cwd, values.report);
  // The report is written after the replay: a path that cannot take it is said first, not after it.
  if (report !== undefined) await checkWritable(report);
  const common = { dir: resolve(io.cwd, values.trace), json: values.json, report };
  const replay = REPLAYS[name];
  return replay.scenario === 'home'
    ? runHomeScenario({ ...common, config: replay.config, vms, peakShare: share }, io)
    : runCloudsim({ ...common, config: replay.config, hosts }, io);
}

/** Bounds that keep a replay in memory: a thousand times CloudSim's 800 hosts, and a day's VMs. */
const MAX_HOSTS = 1000 * CLOUDSIM_HOSTS;
const MAX_VMS = 100_000;

/** Throws (exit 73) when `file` cannot be created or replaced: its directory is missing or not writable, or it is a directory. */
async function checkWritable(file: string): Promise<void> {
  const fail = (why: string, hint: string, cause?: unknown): never => {
    throw new HvmError('E_OUTPUT', `cannot write the report ${file}: ${why}`, { hint, exitCode: 73, cause });
  };
  const here = await stat(file).catch(() => undefined);
  if (here?.isDirectory()) fail('it is a directory', 'give --report a file name, e.g. --report report.html');
  const dir = dirname(file);
  const parent = await stat(dir).catch((error: NodeJS.ErrnoException) => fail(`its directory ${dir} cannot be read (${error.code})`, 'create the directory first, or write the report elsewhere', error));
  if (!parent.isDirectory()) fail(`${dir} is not a directory`, 'write the report into a directory');
  await access(dir, constants.W_OK).catch((error: NodeJS.ErrnoException) => fail(`its directory ${dir} is not writable (${error.code})`, 'write the report elsewhere', error));
}
