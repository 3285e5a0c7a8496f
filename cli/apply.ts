// `hvmctl apply`: make every host match the inventory. Also the engine behind
// `hvmctl plan` (= apply --check --diff, with plan's exit codes). Reads argv,
// prints and returns the exit code; the connector factory, the playbook, the
// signal and the progress sink are parameters so tests inject them.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Connector } from '../src/connector/connector.ts';
import { hostConnector } from '../src/connector/connect.ts';
import { UsageError } from '../src/errors.ts';
import type { HostSpec, Inventory } from '../src/inventory/types.ts';
import { formatProgress, formatRecap, formatResult, formatStage, formatUnreachable, jsonReport, styleFor } from '../tasks/engine/report.ts';
import { exitCode } from '../tasks/engine/result.ts';
import { runPlaybook } from '../tasks/engine/runner.ts';
import { listOption, selectHosts, selectTasks } from '../tasks/engine/select.ts';
import type { Handler, Task } from '../tasks/engine/types.ts';
import type { CliIo } from './io.ts';

export const summary = 'make every host match the inventory (idempotent)';

/** Default bound of each remote step (--timeout): long enough for a package install over a slow mirror. */
export const DEFAULT_TIMEOUT_SECONDS = 600;
/** The most hosts worked on at once: one SSH connection each. */
const MAX_FORKS = 1000;
/**
 * Bound of the SSH handshake (or the step bound, when smaller). Not longer:
 * the network handler's probes (tasks/ops/network.ts) each open a connection
 * until 30 s after arming, and must end inside the host's 40 s rollback delay.
 */
const CONNECT_TIMEOUT_MS = 5000;

export interface ApplyDeps {
  /** Opens a connection to a host (default: SSH with the inventory's key and known_hosts). */
  readonly connect?: (inventory: Inventory, host: HostSpec) => Promise<Connector>;
  readonly playbook?: { readonly tasks: readonly Task[]; readonly handlers: readonly Handler[] };
  readonly loadInventory?: (file: string) => Promise<Inventory>;
  /** Default: aborted by SIGINT/SIGTERM. */
  readonly signal?: AbortSignal;
  /** Where the live "n/m hosts done" line goes on a terminal (default: stderr). */
  readonly progress?: (text: string) => void;
}

const common = `  -i, --inventory FILE  inventory to read (default ./inventory.yaml)
      --limit HOSTS     only these hosts: comma-separated host names, FQDNs, or the
                        groups storage, hypervisors
      --tags TAGS       only tasks with one of these tags (comma-separated), e.g.
                        hosts,network,firewall,nfs,pool,ssh,packages,balancer
      --forks N         hosts worked on at the same time (default 10, at most 1000)
      --timeout S       seconds each remote step (a fact batch, a command, a handler)
                        may take before its host is marked failed, the step named,
                        while the others go on (default 600; a host's 'timeout:'
                        in the inventory overrides it). The SSH handshake is bounded
                        by 5 s (or S when smaller); a host that stops answering is
                        noticed within about 20 s (SSH keepalives)
      --json            one JSON document on stdout (every task result per host,
                        the recap and the exit code) and nothing else
  -h, --help            this text

Connections: SSH as ssh.user with the private key ssh.identity; every host key must
already be pinned in ssh.known_hosts (unknown or changed keys are refused; record
one with 'ssh-keyscan -p PORT HOST >> KNOWN_HOSTS' after checking its fingerprint).
The environment variables HVMCTL_IDENTITY and HVMCTL_KNOWN_HOSTS override those two
paths of the inventory.

Ctrl-C (SIGINT) or SIGTERM: no new command is started, the running one finishes,
the recap is printed, exit code 130.`;

export const applyHelp = `usage: hvmctl apply [-i FILE] [--limit HOSTS] [--tags TAGS] [--check] [--diff] [--forks N] [--timeout S] [--json]

Connects to every host over SSH and makes it match the inventory: packages,
/etc/hosts, network, firewall, NFS export and mount, libvirt pool, SSH trust,
the balancer. Stages run in order (storage before hypervisors, balancer last);
hosts run in parallel. Running it again changes nothing.

Options:
      --check           change nothing; show what would change (see 'hvmctl plan')
      --diff            print the diff of every changed file (secrets redacted)
${common}

Exit codes:
  0    every host matches the inventory now
  2    some task failed on some host (the others went on)
  3    some host could not be reached (or its host key is not pinned)
  64   bad command line; 65 bad inventory; 130 interrupted`;

export const planHelp = `usage: hvmctl plan [-i FILE] [--limit HOSTS] [--tags TAGS] [--forks N] [--timeout S] [--json]

Shows every change 'hvmctl apply' would make, with diffs, and changes nothing
(the same as 'hvmctl apply --check --diff'). Scripts use the exit code to detect
drift.

Options:
${common}

Exit codes:
  0    nothing would change
  2    something would change (drift)
  1    some task failed while planning (e.g. a fact could not be read)
  3    some host could not be reached (or its host key is not pinned)
  64   bad command line; 65 bad inventory; 130 interrupted`;

export async function run(argv: string[], io: CliIo, deps: ApplyDeps = {}): Promise<number> {
  return runApply(argv, io, 'apply', deps);
}

export async function runApply(argv: string[], io: CliIo, mode: 'apply' | 'plan', deps: ApplyDeps = {}): Promise<number> {
  const options = parse(argv, mode);
  if (options.help) {
    io.out(mode === 'plan' ? planHelp : applyHelp);
    return 0;
  }
  const check = mode === 'plan' || options.check === true;
  const showDiff = mode === 'plan' || options.diff === true;
  const json = options.json === true;
  // Digits only: Number() also reads ' 3', '0x10', '1e3' and ''.
  const whole = (text: string | undefined, fallback: number): number => (text === undefined ? fallback : /^[0-9]+$/.test(text) ? Number(text) : Number.NaN);
  const forks = whole(options.forks, 10);
  if (!(forks >= 1 && forks <= MAX_FORKS)) throw new UsageError(`--forks must be a whole number from 1 to ${MAX_FORKS}, not '${options.forks}'`);
  const timeout = whole(options.timeout, DEFAULT_TIMEOUT_SECONDS);
  if (!(timeout >= 1 && timeout <= 86400)) throw new UsageError(`--timeout must be a whole number of seconds from 1 to 86400, not '${options.timeout}'`);
  const boundMs = (h: HostSpec): number => (h.timeout ?? timeout) * 1000;

  // Flags first: a bad one is reported before the inventory is even read.
  const limit = listOption('--limit', options.limit);
  const tags = listOption('--tags', options.tags);
  // the tags name the playbook's tasks, which need no inventory: checked before it is read
  const playbook = deps.playbook ?? (await import('../tasks/playbook.ts')).playbook;
  const selected = new Set(selectTasks(playbook.tasks, tags));
  const file = resolve(io.cwd, options.inventory ?? 'inventory.yaml');
  const load = deps.loadInventory ?? (async (f: string) => (await import('../src/inventory/load.ts')).loadInventory(f));
  const inventory = await load(file);
  const hosts = selectHosts(inventory, limit);
  // The overrides and, while a lab is up here, the lab's route guard: the factory's (src/connector/connect.ts).
  const connectHost = hostConnector({ env: io.env, cwd: io.cwd });
  const connect =
    deps.connect ??
    ((inv: Inventory, host: HostSpec) => connectHost(inv, host, { connectTimeoutMs: Math.min(CONNECT_TIMEOUT_MS, boundMs(host)) }));

  const interrupt = deps.signal ? undefined : onSignals(io);
  const style = styleFor(hosts.map((h) => h.name), io.tty && !json);
  const progress = deps.progress ?? ((text: string) => process.stderr.write(text));
  const live = io.tty && !json;
  const say = (text: string): void => {
    if (json) return;
    if (live) progress('\r\x1b[2K');
    io.out(text);
  };
  try {
    const report = await runPlaybook({
      inventory,
      tasks: playbook.tasks,
      handlers: playbook.handlers,
      hosts,
      selected,
      connect: (h) => connect(inventory, h),
      check,
      forks,
      timeoutMs: boundMs,
      ...(deps.signal ?? interrupt?.signal ? { signal: deps.signal ?? interrupt?.signal } : {}),
      events: {
        stage: (stage, names) => say(formatStage(stage, names, check, style)),
        result: (r) => say(formatResult(r, style, showDiff)),
        unreachable: (host, error) => say(formatUnreachable(host, error, style)),
        hostDone: (stage, _host, done, total) => {
          if (live) progress(`\r\x1b[2K${formatProgress(stage, done, total)}`);
        },
      },
    });
    const code = exitCode(report, mode);
    if (json) io.out(jsonReport(report, code, showDiff));
    else say(formatRecap(report, style));
    return code;
  } finally {
    interrupt?.dispose();
  }
}

type Parsed = { help?: boolean; check?: boolean; diff?: boolean; json?: boolean; inventory?: string; limit?: string; tags?: string; forks?: string; timeout?: string };

function parse(argv: string[], mode: 'apply' | 'plan'): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        inventory: { type: 'string', short: 'i' },
        limit: { type: 'string' },
        tags: { type: 'string' },
        forks: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        ...(mode === 'apply' ? { check: { type: 'boolean' as const }, diff: { type: 'boolean' as const } } : {}),
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, `run 'hvmctl ${mode} --help'`);
    return values as Parsed;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message, `run 'hvmctl ${mode} --help'`);
  }
}

function onSignals(io: CliIo): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      // a second signal: the operator does not want to wait (file writes are atomic, so this is safe)
      io.err(`\n${sig} again: stopping now`);
      process.exit(130);
    }
    io.err(`\n${sig}: starting no new command; waiting for the running ones, then the recap (exit 130; again to stop now)`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
