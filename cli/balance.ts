// `hvmctl balance ...`: the load balancer. The agent commands (status, once,
// run, log, drain, undrain) run the balancer where it lives:
//   - locally (in this process) with --local, --config PATH, or when this
//     machine has /etc/hvmctl/balancer.json (i.e. it is the balancer host);
//   - otherwise on the inventory's first home hypervisor over SSH (the SSH
//     connector, host key pinned): node /opt/hvmctl/balancer.mjs CMD --config /etc/hvmctl/balancer.json
// `simulate` replays a trace through the same policy (cli/balance-simulate.ts).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { AGENT_COMMANDS, agentMain, agentUsage, defaultAgentEnv, parseAgentArgs } from '../balancer/agent.ts';
import { DEFAULT_CONFIG_PATH } from '../balancer/config.ts';
import type { Connector } from '../src/connector/connector.ts';
import { UsageError } from '../src/errors.ts';
import { balancerHosts, type HostSpec, type Inventory } from '../src/inventory/types.ts';
import { balancerPaths } from '../src/render/balancer-paths.ts';
import { sh } from '../src/shell.ts';
import type { CliIo } from './io.ts';

export const summary = 'the load balancer (status, once, run, log, move, drain, undrain, simulate)';


export const help = `usage: hvmctl balance <command> [options]

Commands:
  status [--json]              hosts with CPU and memory, VMs with load, where each runs and its home
  once [--dry-run] [--json]    one measure-decide-migrate cycle (what cron runs every minute)
  run [--interval S] [--dry-run]
                               the cycle every S seconds (default 60, at most 86400; local only:
                               for a service on the balancer host)
  log [-n N] [--json]          the last N runs from the balancer's log (default 20; --json: one array)
  move VM HOST [--timeout S] [--json]
                               live-migrate VM to HOST now, with the cycle's checks and recovery
                               (--timeout: default the configured migration timeout, at most 86400)
                               (exit 0 moved, 1 not moved, 2 ALERT: a human must look, 75 busy)
  drain HOST / undrain HOST    empty a hypervisor and send it nothing / take it back
  simulate ...                 replay a trace through the policy ('hvmctl balance simulate --help')

Where it runs:
  --local              here, in this process (default when ${DEFAULT_CONFIG_PATH} exists here)
  --config PATH        here, with this balancer configuration
  -i, --inventory FILE otherwise: on the inventory's first balancer home host, over SSH
                       (default ./inventory.yaml)`;

export interface BalanceDeps {
  readonly loadInventory?: (file: string) => Promise<Inventory>;
  readonly connect?: (inventory: Inventory, host: HostSpec) => Promise<Connector>;
  readonly localConfigExists?: () => boolean;
  /** Runs the agent in this process (default agentMain with the CLI's io). */
  readonly local?: (argv: string[], io: CliIo) => Promise<number>;
}

interface Split {
  command: string | undefined;
  agentArgs: string[];
  inventory: string | undefined;
  local: boolean;
  config: string | undefined;
  help: boolean;
}

function split(argv: readonly string[]): Split {
  const s: Split = { command: undefined, agentArgs: [], inventory: undefined, local: false, config: undefined, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (s.command === 'simulate') {
      s.agentArgs.push(a);
      continue;
    }
    if (a === '-i' || a === '--inventory') {
      s.inventory = argv[++i];
      if (s.inventory === undefined) throw new UsageError(`${a} needs a FILE`);
    } else if (a.startsWith('--inventory=')) s.inventory = a.slice('--inventory='.length);
    else if (a === '--local') s.local = true;
    else if (a === '--config') {
      s.config = argv[++i];
      if (s.config === undefined) throw new UsageError('--config needs a PATH');
    } else if (a.startsWith('--config=')) s.config = a.slice('--config='.length);
    else if (a === '--help' || a === '-h') s.help = true;
    else if (s.command === undefined && !a.startsWith('-')) s.command = a;
    else s.agentArgs.push(a);
  }
  return s;
}

export async function run(argv: string[], io: CliIo, deps: BalanceDeps = {}): Promise<number> {
  const s = split(argv);
  // --help anywhere before simulate's own options: this text, here, nothing read or reached
  if (s.command !== 'simulate' && (s.help || s.command === undefined)) {
    if (s.help) {
      io.out(help);
      return 0;
    }
    io.err(help);
    return 64;
  }
  if (s.command === 'simulate') {
    const { runSimulate } = await import('./balance-simulate.ts');
    return runSimulate(s.agentArgs, io);
  }
  if (!AGENT_COMMANDS.includes(s.command)) {
    throw new UsageError(`unknown balance command '${s.command}'`, `commands: ${[...AGENT_COMMANDS, 'simulate'].join(', ')}`);
  }
  // The agent's own parser, here first: a bad flag is refused before the inventory is read or a
  // host is reached (the agent checks again where it runs).
  parseAgentArgs([s.command, ...s.agentArgs]);
  const configExists = deps.localConfigExists ?? (() => existsSync(DEFAULT_CONFIG_PATH));
  const local = s.local || s.config !== undefined || (s.inventory === undefined && configExists());
  if (local) {
    const agentArgv = [s.command, ...s.agentArgs, ...(s.config ? ['--config', s.config] : [])];
    return (deps.local ?? runAgentHere)(agentArgv, io);
  }
  if (s.command === 'run') {
    throw new UsageError('balance run is the loop for a service on the balancer host', 'run it there (hvmctl balance run --local), or use `balance once` from here');
  }
  const file = resolve(io.cwd, s.inventory ?? 'inventory.yaml');
  const load = deps.loadInventory ?? (async (f: string) => (await import('../src/inventory/load.ts')).loadInventory(f));
  const inventory = await load(file);
  // The balancer runs on the first of its hosts (the first home, or consolidate's first host).
  const agentName = balancerHosts(inventory.balancer)[0];
  const host = inventory.hosts.find((h) => h.name === agentName);
  if (!host) throw new UsageError(`the inventory's balancer (strategy ${inventory.balancer.strategy}) names no host to run on`, `set balancer.${inventory.balancer.strategy}.hosts in the inventory`);
  const connect =
    deps.connect ??
    (async (inv: Inventory, h: HostSpec) =>
      // the factory applies HVMCTL_IDENTITY and, while a lab is up here, the lab's route guard
      (await import('../src/connector/connect.ts')).hostConnector({ env: io.env, cwd: io.cwd })(inv, h));
  const connector = await connect(inventory, host);
  try {
    const result = await connector.run(sh`node ${balancerPaths.script} ${[s.command, ...s.agentArgs]} --config ${DEFAULT_CONFIG_PATH}`);
    if (result.stdout) io.out(result.stdout);
    if (result.stderr) io.err(result.stderr);
    if (result.code === 127 || /Cannot find module '\/opt\/hvmctl\/balancer\.mjs'|No such file or directory.*balancer\.json/.test(result.stderr)) {
      io.err(`hint: the balancer is not installed on ${host.name}: run \`hvmctl apply\``);
    }
    return result.code;
  } finally {
    await connector.close();
  }
}

function runAgentHere(argv: string[], io: CliIo): Promise<number> {
  return agentMain(argv, { ...defaultAgentEnv(), io: { out: (t) => io.out(t), err: (t) => io.err(t) } });
}

export { agentUsage };
