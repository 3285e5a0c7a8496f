// The balancer's entry point ON the home hypervisor (bundled into
// /opt/hvmctl/balancer.mjs by bundle.ts, run by cron and by `hvmctl balance`):
//   node /opt/hvmctl/balancer.mjs once|run|status|log|drain|undrain [options] --config /etc/hvmctl/balancer.json
// agentMain only parses argv, wires the real adapters and prints; the work is
// in cycle.ts. Everything it touches is a parameter with a default.
import { formatError, HvmError, UsageError } from '../src/errors.ts';
import { systemClock, type Clock } from './clock.ts';
import { describeFailures, noFailures } from './backoff.ts';
import { collectSnapshot, utilisationOf, type Collected } from './collect/snapshot.ts';
import { DEFAULT_CONFIG_PATH, hypervisorNames, readAgentConfig, type AgentConfig } from './config.ts';
import { runCycle, type Decide } from './cycle.ts';
import { createHostFiles, type HostFiles } from './host-files.ts';
import { createPeers, type Peers } from './peers.ts';
import { runProcess, type RunProcess } from '../src/process.ts';
import { createVirshLibvirt, type Libvirt } from './libvirt.ts';
import { formatJsonLine, formatLogLine, formatTime, tailLog } from './log.ts';
import { createDryRunExecutor, createLiveExecutor } from './migrate.ts';
import { acquireLock } from './lock.ts';
import { createStorageCheck } from './storage-check.ts';
import { DOMAIN_RUNNING, isActive } from './collect/domstats.ts';
import { decide as policyDecide } from './policy/decide.ts';
import { effectiveDrained, readDrains, readState, withDrain, writeDrains } from './state-file.ts';

export interface AgentIo {
  out(text: string): void;
  err(text: string): void;
}

export interface AgentEnv {
  readonly io: AgentIo;
  readonly clock: Clock;
  /** Runs virsh and the on_empty command; the peers' connectors run through it too unless `peers` is given. */
  readonly exec: RunProcess;
  readonly decide: Decide;
  readonly loadConfig: (path: string) => AgentConfig;
  /** Adapters; built from the config and `exec` when absent. */
  readonly libvirt?: Libvirt;
  readonly files?: HostFiles;
  readonly peers?: Peers;
  /** For `run`: stop the loop when this resolves. */
  readonly stop?: Promise<void>;
}

export const agentUsage = `usage: balancer.mjs <command> [options] [--config PATH]

Commands:
  status [--json]              hosts with CPU and memory, VMs with load, where each runs and its home
  once [--dry-run] [--json]    one measure-decide-migrate cycle (the cron job)
  run [--interval S] [--dry-run]  the cycle every S seconds (default 60, at most 86400), for a service
  log [-n N] [--json]          the last N runs (default 20; --json: one array)
  move VM HOST [--timeout S] [--json]
                               live-migrate VM to HOST now (--timeout: default the configured
                               migration timeout, at most 86400), with the same checks and recovery
                               as a cycle (exit 0 moved, 1 not moved and still running where
                               it was, 2 ALERT: a human must look; 75 another run holds the lock)
  drain HOST                   empty HOST and send it nothing (until undrain)
  undrain HOST                 take HOST back into service

--config defaults to ${DEFAULT_CONFIG_PATH}`;

interface Parsed {
  command: string;
  positional: string[];
  config: string;
  json: boolean;
  dryRun: boolean;
  interval: number;
  n: number;
  /** --timeout S for move (default: the configured migration timeout). */
  timeout: number | undefined;
}

/** The options each command takes (--config and --help: every command), and how many
 * positional arguments: a flag a command does not take is refused, never ignored (`move
 * --dry-run` would otherwise migrate for real). */
const COMMANDS: Record<string, { readonly options: readonly string[]; readonly args: string }> = {
  status: { options: ['--json'], args: '' },
  once: { options: ['--dry-run', '--json'], args: '' },
  run: { options: ['--interval', '--dry-run'], args: '' },
  log: { options: ['-n', '--json'], args: '' },
  move: { options: ['--timeout', '--json'], args: 'VM HOST' },
  drain: { options: [], args: 'HOST' },
  undrain: { options: [], args: 'HOST' },
};
export const AGENT_COMMANDS: readonly string[] = Object.keys(COMMANDS);

/** A day: the longest --interval and --timeout (beyond 2^31 ms a timer fires at once). */
const MAX_SECONDS = 86_400;

export function parseAgentArgs(argv: readonly string[]): Parsed {
  const p: Parsed = { command: '', positional: [], config: DEFAULT_CONFIG_PATH, json: false, dryRun: false, interval: 60, n: 20, timeout: undefined };
  const given: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    const number = (min: number, max: number, integer = false): number => {
      const v = value();
      const n = /^\d+(\.\d+)?$/.test(v) ? Number(v) : Number.NaN;
      if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
        throw new UsageError(`${a} ${v}: expected ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
      }
      return n;
    };
    if (a === '--config') p.config = value();
    else if (a.startsWith('--config=')) p.config = a.slice('--config='.length);
    else if (a === '--help' || a === '-h') p.command = 'help';
    else if (a === '--json') p.json = true;
    else if (a === '--dry-run') p.dryRun = true;
    else if (a === '--interval') p.interval = number(1, MAX_SECONDS);
    else if (a === '-n') p.n = number(1, 1_000_000, true);
    else if (a === '--timeout') p.timeout = number(1, MAX_SECONDS);
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`, 'hvmctl balance --help lists each command\'s options');
    else if (p.command === '') p.command = a;
    else p.positional.push(a);
    if (a.startsWith('-') && !a.startsWith('--config') && a !== '--help' && a !== '-h') given.push(a);
  }
  const spec = COMMANDS[p.command];
  if (spec) {
    const stray = given.find((o) => !spec.options.includes(o));
    if (stray) {
      throw new UsageError(
        `${p.command} takes no ${stray}`,
        `${p.command} takes ${spec.options.length ? spec.options.join(', ') : 'no option'} (and --config)`,
      );
    }
    const wanted = spec.args === '' ? 0 : spec.args.split(' ').length;
    if (p.positional.length !== wanted) {
      throw new UsageError(wanted === 0 ? `${p.command} takes no argument (got ${p.positional.join(' ')})` : `${p.command} needs exactly ${spec.args}`);
    }
  }
  return p;
}

export function defaultAgentEnv(): AgentEnv {
  return {
    io: {
      out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
      err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
    },
    clock: systemClock,
    exec: runProcess,
    decide: policyDecide,
    loadConfig: (path) => readAgentConfig(path),
  };
}

export async function agentMain(argv: readonly string[], env: AgentEnv = defaultAgentEnv()): Promise<number> {
  try {
    return await dispatch(parseAgentArgs(argv), env);
  } catch (error) {
    env.io.err(formatError(error));
    return error instanceof HvmError ? error.exitCode : 70;
  }
}

async function dispatch(p: Parsed, env: AgentEnv): Promise<number> {
  const { io } = env;
  if (p.command === '' || p.command === 'help') {
    io.out(agentUsage);
    return p.command === '' ? 64 : 0;
  }
  if (!AGENT_COMMANDS.includes(p.command)) throw new UsageError(`unknown command '${p.command}'`, `commands: ${AGENT_COMMANDS.join(', ')}`);
  const config = env.loadConfig(p.config);
  const libvirt = env.libvirt ?? createVirshLibvirt({ self: config.self, hosts: config.hosts, exec: env.exec, uriTemplate: config.libvirtUri });
  const peers = env.peers ?? createPeers(config.self, config.hosts, env.exec);
  const files = env.files ?? createHostFiles(config.self, peers);
  const say = (line: string): void => io.err(line);
  const storageCheck = createStorageCheck(config, peers);

  const cycle = async (): Promise<number> => {
    const executor = p.dryRun
      ? createDryRunExecutor(say)
      : createLiveExecutor({ libvirt, timeoutMs: config.balancer.migrationTimeout * 1000, clock: env.clock, say, ...(storageCheck ? { storageCheck } : {}) });
    const out = await runCycle({ config, libvirt, files, clock: env.clock, decide: env.decide, executor, say: p.json ? undefined : say, exec: env.exec });
    if (!out.ran) {
      io.out(p.json ? JSON.stringify({ ran: false, holder: out.holder, message: out.message }) : out.message);
      return 0;
    }
    io.out(p.json ? formatJsonLine(out.record) : formatLogLine(out.record));
    return out.record.results.some((r) => !r.ok && !r.dryRun) ? 1 : 0;
  };

  switch (p.command) {
    case 'once':
      return cycle();
    case 'run': {
      let stopped = false;
      void env.stop?.then(() => (stopped = true));
      while (!stopped) {
        const started = env.clock.monotonicMs();
        await cycle().catch((error: unknown) => io.err(formatError(error)));
        const wait = Math.max(0, p.interval * 1000 - (env.clock.monotonicMs() - started));
        await Promise.race([env.clock.sleep(wait), env.stop ?? new Promise(() => {})]);
      }
      return 0;
    }
    case 'status': {
      const { state } = await readState(config.paths.state);
      const drains = await readDrains(config.paths.drains, state);
      const collected = await collectSnapshot({ config, libvirt, files, clock: env.clock, drained: effectiveDrained(config.balancer.drained, drains) });
      const backoff = describeFailures(state.failures ?? noFailures, collected.snapshot.time);
      io.out(
        p.json
          ? JSON.stringify({ ...statusJson(collected), lastPredictionCheck: state.lastCheck ?? null, backoff })
          : `${formatStatus(collected)}${backoff.length > 0 ? `\n\nBacked off after failed migrations:\n${backoff.map((l) => `  ${l}`).join('\n')}` : ''}`,
      );
      return 0;
    }
    case 'log': {
      const lines = await tailLog(p.json ? config.paths.jsonl : config.paths.log, p.n);
      // --json: one document, the runs as an array (the log file itself is JSON Lines)
      if (p.json) {
        const runs = lines.flatMap((line) => {
          try {
            return [JSON.parse(line) as unknown];
          } catch {
            io.err(`skipped a line of ${config.paths.jsonl} that is not JSON (a run cut short while writing?)`);
            return [];
          }
        });
        io.out(JSON.stringify(runs));
      } else io.out(lines.length ? lines.join('\n') : `no runs logged yet in ${config.paths.log}`);
      return 0;
    }
    case 'move':
      return moveCommand(p, env, config, libvirt, storageCheck);
    case 'drain':
    case 'undrain': {
      const [host] = p.positional as [string]; // parseAgentArgs: exactly one
      if (!hypervisorNames(config).includes(host)) {
        throw new UsageError(`${host} is not a hypervisor of this cluster`, `hypervisors: ${hypervisorNames(config).join(', ')}`);
      }
      // In the drains file (on the storage the homes share, when there is a cluster lease), so
      // that whichever home's agent runs next sees it, and a lost state file changes nothing.
      const legacy = (await readState(config.paths.state)).state;
      const next = withDrain(await readDrains(config.paths.drains, legacy), host, p.command === 'drain');
      await writeDrains(config.paths.drains, next);
      const now = effectiveDrained(config.balancer.drained, next);
      io.out(`${host} ${p.command === 'drain' ? 'drained: it is emptied from the next run on and receives nothing' : 'undrained: it takes VMs again'}; drained now: ${now.length ? now.join(', ') : 'none'}`);
      return 0;
    }
  }
  return 64;
}

/** `move VM HOST`: one migration by hand, through the cycle's lock, checks and recovery. */
async function moveCommand(
  p: Parsed,
  env: AgentEnv,
  config: AgentConfig,
  libvirt: Libvirt,
  storageCheck: ((host: string) => Promise<string | undefined>) | undefined,
): Promise<number> {
  const { io } = env;
  const [vm, to] = p.positional as [string, string]; // parseAgentArgs: exactly VM HOST
  const hypervisors = hypervisorNames(config);
  if (!hypervisors.includes(to)) throw new UsageError(`${to} is not a hypervisor of this cluster`, `hypervisors: ${hypervisors.join(', ')}`);
  const lock = acquireLock(config.paths.lock);
  if (!lock.acquired) {
    io.err(`another run (pid ${lock.holder}) holds the lock ${config.paths.lock}: try again when it has finished`);
    return 75;
  }
  const lease = config.paths.leader === '' ? undefined : acquireLock(config.paths.leader, process.pid, config.self);
  if (lease && !lease.acquired) {
    lock.release();
    io.err(`another home's agent (pid ${lease.holder}${lease.owner ? ` on ${lease.owner}` : ''}) holds the cluster lease ${config.paths.leader}: try again when its run has finished`);
    return 75;
  }
  try {
    const seen = await Promise.all(
      hypervisors.map(async (h) => ({ h, d: await libvirt.domstats(h).then((all) => all.find((x) => x.name === vm), (e: unknown) => e as Error) })),
    );
    const unreachable = seen.filter((x) => x.d instanceof Error).map((x) => x.h);
    const active = seen.filter((x) => !(x.d instanceof Error) && x.d !== undefined && isActive(x.d.state));
    if (active.length !== 1 || active[0]!.d instanceof Error || active[0]!.d?.state !== DOMAIN_RUNNING) {
      const where = active.map((x) => `${x.h} (${x.d instanceof Error || x.d === undefined ? '?' : x.d.state === DOMAIN_RUNNING ? 'running' : `state ${x.d.state}`})`);
      throw new HvmError('E_MOVE', `${vm} must run on exactly one hypervisor to be moved; it is active on ${where.length ? where.join(', ') : 'none'}${unreachable.length ? ` (${unreachable.join(', ')} did not answer)` : ''}`, {
        hint: 'check with `virsh list --all` on each hypervisor',
      });
    }
    const from = active[0]!.h;
    if (from === to) {
      io.out(p.json ? JSON.stringify({ vm, from, to, ok: true, host: to, attempts: [], note: 'already there' }) : `${vm} already runs on ${to}`);
      return 0;
    }
    const home = (await libvirt.getMetadata(from, vm).catch(() => undefined))?.home ?? from;
    const timeoutS = p.timeout ?? config.balancer.migrationTimeout;
    const executor = createLiveExecutor({ libvirt, timeoutMs: timeoutS * 1000, clock: env.clock, say: p.json ? () => {} : (l) => io.err(l), ...(storageCheck ? { storageCheck } : {}) });
    const migration = { vm, from, to, kind: to === home ? ('remigrate' as const) : ('migrate' as const), reason: 'moved by hand (balance move)', fallbacks: [] };
    const r = await executor.execute(migration, { home });
    if (p.json) io.out(JSON.stringify({ vm, from, to, ok: r.ok, host: r.host, attempts: r.attempts, ...(r.alert ? { alert: r.alert } : {}) }));
    else io.out(r.ok ? `${vm}: ${from} -> ${to}: moved` : `${vm}: ${from} -> ${to}: not moved; ${r.host === '?' ? 'where it runs is unknown' : `it is on ${r.host}`}${r.attempts.length ? ` (${r.attempts.map((a) => a.error ?? '').filter(Boolean).join('; ')})` : ''}`);
    return r.alert && !r.ok ? 2 : r.ok ? 0 : 1;
  } finally {
    if (lease?.acquired) lease.release();
    lock.release();
  }
}

function statusJson(c: Collected): object {
  return {
    time: c.snapshot.time,
    hosts: c.snapshot.hosts.map((h) => ({ ...h, utilisation: utilisationOf(h) })),
    vms: c.snapshot.vms.map((v) => ({ ...v, moved: c.vms.get(v.name)?.metadata?.moved, reason: c.vms.get(v.name)?.metadata?.reason })),
    notes: c.notes,
    collectMs: Math.round(c.elapsedMs),
  };
}

export function formatStatus(c: Collected): string {
  const pct = (x: number): string => `${Math.round(x * 100)}%`;
  const rows: string[][] = [['HOST', 'STATE', 'CPU', 'MEM', 'VMS']];
  for (const h of c.snapshot.hosts) {
    const vms = c.snapshot.vms.filter((v) => v.host === h.name).map((v) => v.name);
    rows.push([
      h.name,
      !h.reachable ? (h.unmeasured !== undefined ? 'metrics unknown' : 'unreachable') : h.drained ? 'drained' : vms.length === 0 ? 'up, empty' : 'up',
      h.reachable ? `${pct(utilisationOf(h))} of ${h.cpuCapacity / 100} cpu` : '?',
      h.reachable && h.memTotalMiB > 0 ? `${pct((h.memTotalMiB - h.memAvailableMiB) / h.memTotalMiB)} of ${Math.round(h.memTotalMiB)} MiB` : '?',
      vms.join(' ') || '-',
    ]);
  }
  const vmRows: string[][] = [['VM', 'RUNS ON', 'HOME', 'CPU', 'MEM', 'LAST MOVE']];
  for (const v of c.snapshot.vms) {
    const meta = c.vms.get(v.name)?.metadata;
    const away = v.home !== undefined && v.home !== v.host;
    vmRows.push([
      v.name + (v.pinned ? ' (pinned)' : ''),
      v.host,
      (v.home ?? '-') + (away ? ' (away)' : ''),
      `${Math.round(v.cpuUsed)}%`,
      `${Math.round(v.memMiB)} MiB`,
      meta?.moved !== undefined ? `${formatTime(meta.moved)}${meta.reason ? ` ${meta.reason}` : ''}` : '-',
    ]);
  }
  const notes = c.notes.map((n) => `note: ${n}`);
  return [table(rows), '', table(vmRows), ...(notes.length ? ['', ...notes] : [])].join('\n');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
