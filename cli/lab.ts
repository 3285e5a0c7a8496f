// `hvmctl lab …`: the local four-host lab (see lab/ and ../shared/LAB-NOTES.md).
import path from 'node:path';
import { UsageError } from '../src/errors.ts';
import { loadInventory } from '../src/inventory/load.ts';
import type { HostSpec, Inventory } from '../src/inventory/types.ts';
import type { CliIo } from './io.ts';
import { labDown } from '../lab/down.ts';
import { execInHost, hostEntry } from '../lab/enter.ts';
import { labReboot } from '../lab/reboot.ts';
import { notUp } from '../lab/lab-error.ts';
import { assertLabRoute } from '../src/connector/route-guard.ts';
import { hostConnector, withEnvOverrides } from '../src/connector/connect.ts';
import { runAttached } from '../src/process.ts';
import type { LabState } from '../lab/lab-record.ts';
import { readLabState } from '../lab/lab-record.ts';
import { formatStatus, labStatus } from '../lab/status.ts';
import { labVms } from '../lab/vms.ts';
import { setGuestLoad } from '../lab/guest-load.ts';
import { labDemo } from './lab-demo.ts';
import { labUp } from '../lab/up.ts';
import { notRoot } from '../lab/lab-error.ts';

export const summary = 'a local four-host cluster on this machine (up, down, status, reboot, exec, ssh, vms, load, demo)';

export const help = `usage: hvmctl lab <command> [-i INVENTORY]

  up [--sshd-only] [--tcg]
                        build the inventory's hosts here (root, /dev/kvm): Debian 12
                        servers booting systemd in containers, bare as after an
                        install (the first run builds the image, 1-2 minutes)
                        --sshd-only: every host runs only sshd, no init (benchmarks)
                        --tcg: guests in software emulation (no /dev/kvm needed)
  down                  remove everything the lab made (idempotent; keeps the
                        image cache /var/cache/hvmctl-lab)
  status [--json]       hosts, addresses, init pids, running services (exit 3: no lab is up,
                        1: a host of it is down)
  reboot HOST...|--all  clean reboot (systemctl reboot): files kept, network
                        and processes start afresh; waits until systemd is up
                        and sshd answers
  exec HOST -- CMD...   run CMD inside HOST (exit code passed through)
  ssh HOST [CMD...]     ssh to HOST as the operator (pinned host key)
  vms                   define and start server1..3 on the first hypervisor
  load VM PERCENT       set a guest's CPU load (0-100)
  demo [--balance]      lab up, hvmctl apply, lab vms, then say where things run;
                        --balance: then load two of kvmnode1's guests, wait for
                        the balancer (its timer, every minute) to move one away,
                        unload, and wait for it to come home (about 8 minutes)

Options:
  -i, --inventory FILE  the inventory (default ./inventory.yaml)
  --json                machine-readable output (status)

Environment: HVMCTL_IDENTITY and HVMCTL_KNOWN_HOSTS override the inventory's
ssh.identity and ssh.known_hosts (as for apply). Exit codes: 64 bad usage,
77 not root, 69 no /dev/kvm or no lab (3 for status, which asks), 75 a lab
is already up.
Safety: every connection the lab makes first checks (ip route get) that the
address is routed through the lab bridge hvmlab0; nothing is forwarded out.`;

interface Parsed {
  readonly inventory: string;
  readonly json: boolean;
  readonly sshdOnly: boolean;
  readonly tcg: boolean;
  readonly all: boolean;
  readonly balance: boolean;
  readonly rest: readonly string[];
  /** Arguments after `--`, if any. */
  readonly command: readonly string[] | undefined;
}

export function parseLabArgs(argv: readonly string[], cwd: string): Parsed {
  let inventory = path.resolve(cwd, 'inventory.yaml');
  let json = false;
  let sshdOnly = false;
  let tcg = false;
  let all = false;
  let balance = false;
  const rest: string[] = [];
  let command: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (rest[0] === 'ssh' && rest.length >= 2) {
      // `lab ssh HOST CMD...`: everything after the host is the remote command.
      rest.push(...argv.slice(a === '--' ? i + 1 : i));
      break;
    }
    if (a === '--') {
      command = argv.slice(i + 1);
      break;
    }
    if (a === '-i' || a === '--inventory') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a file`);
      inventory = path.resolve(cwd, v);
    } else if (a.startsWith('--inventory=')) inventory = path.resolve(cwd, a.slice('--inventory='.length));
    else if (a === '--json') json = true;
    else if (a === '--sshd-only') sshdOnly = true;
    else if (a === '--tcg') tcg = true;
    else if (a === '--all') all = true;
    else if (a === '--balance') balance = true;
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else rest.push(a);
  }
  return { inventory, json, sshdOnly, tcg, all, balance, rest, command };
}

/** The words that are the lab's own, not a command's: before `--` (exec), and up to the host of
 * `ssh HOST CMD...`. `--help` among them prints the help wherever it is. */
function ownArgs(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf('--');
  const own = end >= 0 ? argv.slice(0, end) : argv;
  const words = own.map((a, i) => ({ a, i })).filter(({ a }) => !a.startsWith('-'));
  return words[0]?.a === 'ssh' && words[1] ? own.slice(0, words[1].i + 1) : own;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  if (ownArgs(argv).some((a) => a === '--help' || a === '-h')) {
    io.out(help);
    return 0;
  }
  if (argv.length === 0) {
    io.err(help);
    return 64;
  }
  const args = parseLabArgs(argv, io.cwd);
  const [sub, ...rest] = args.rest;
  const progress = (line: string) => io.err(`lab: ${line}`);
  switch (sub) {
    case 'up': {
      const inv = await loadInventory(args.inventory);
      const { ssh } = withEnvOverrides(inv, io.env, io.cwd);
      const state = await labUp(inv, { knownHosts: ssh.knownHosts, identity: ssh.identity, progress, sshdOnly: args.sshdOnly, tcg: args.tcg });
      io.out(formatStatus(state, labStatus(state)));
      return 0;
    }
    case 'down': {
      if (process.getuid?.() !== 0) throw notRoot();
      const extra: string[] = [];
      if (io.env.HVMCTL_KNOWN_HOSTS) extra.push(io.env.HVMCTL_KNOWN_HOSTS);
      const r = await labDown({ progress, knownHosts: extra });
      io.out(`lab down: ${r.guests} guests, ${r.processes} processes, ${r.namespaces} namespaces, ${r.links} links, ${r.cgroups} cgroups, ${r.mounts} mounts removed; nothing left`);
      return 0;
    }
    case 'status': {
      const state = readLabState();
      if (!state) {
        if (args.json) io.out(JSON.stringify({ up: false, hosts: [] }));
        else io.out('no lab is up');
        return 3;
      }
      const hosts = labStatus(state);
      if (args.json) io.out(JSON.stringify({ up: true, ...state, hosts: state.hosts.map((h, i) => ({ ...h, ...hosts[i] })) }, null, 2));
      else io.out(formatStatus(state, hosts));
      return hosts.every((h) => h.up) ? 0 : 1;
    }
    case 'exec': {
      const [hostName] = rest;
      if (!hostName || !args.command || args.command.length === 0) throw new UsageError('usage: hvmctl lab exec HOST -- CMD...');
      const state = requireLab();
      return execInHost(hostEntry(state, hostOf(state, hostName)), args.command, io.env);
    }
    case 'reboot': {
      if (args.all === rest.length > 0) throw new UsageError('usage: hvmctl lab reboot HOST...|--all');
      const state = requireLab();
      const hosts = args.all ? state.hosts : rest.map((n) => hostOf(state, n));
      const t0 = Date.now();
      const ready = await labReboot(state, hosts, progress);
      for (const r of ready) io.out(`${r.name}: rebooted, systemd ${r.state}${r.failedUnits.length ? ` (failed: ${r.failedUnits.join(', ')})` : ''}, sshd answers after ${(r.ms / 1000).toFixed(1)} s`);
      io.out(`reboot of ${hosts.length} host(s) done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'ssh': {
      const [hostName, ...cmd] = rest;
      if (!hostName) throw new UsageError('usage: hvmctl lab ssh HOST [CMD...]');
      const state = requireLab();
      const host = hostOf(state, hostName);
      assertLabRoute(host.address);
      const remote = [...cmd, ...(args.command ?? [])];
      return runAttached([
        'ssh',
        '-i',
        state.identity,
        '-o',
        `UserKnownHostsFile=${state.knownHosts}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'ConnectTimeout=5',
        `root@${host.address}`,
        // ssh reads options after the destination too: a CMD of '-oProxyCommand=...' would be its own
        '--',
        ...remote,
      ]);
    }
    case 'vms': {
      const state = requireLab();
      const inv = await loadInventory(state.inventory);
      const placed = await labVms(state, inv, progress);
      for (const p of placed) io.out(`${p.name}: ${p.host ? `running on ${p.host}` : p.state}`);
      return placed.every((p) => p.host) ? 0 : 1;
    }
    case 'load': {
      const [vm, percentText] = rest;
      const percent = Number(percentText);
      if (!vm || percentText === undefined || !/^\d+$/.test(percentText) || percent > 100) {
        throw new UsageError('usage: hvmctl lab load VM PERCENT (0-100, steps of 10)');
      }
      const r = setGuestLoad(requireLab(), vm, percent);
      io.out(`${r.vm} on ${r.host}: load set to ${r.percent} % (${r.key})`);
      return 0;
    }
    case 'demo': {
      const inv = await loadInventory(args.inventory);
      const apply = await import('./apply.ts');
      const { ssh } = withEnvOverrides(inv, io.env, io.cwd);
      // apply's own connector factory, told the hosts are the lab's: the route guard stands before every connection.
      const connectHost = hostConnector({ env: io.env, cwd: io.cwd, labOnly: true });
      const connect = (i: Inventory, host: HostSpec) => connectHost(i, host);
      return labDemo(inv, io, { knownHosts: ssh.knownHosts, identity: ssh.identity, balance: args.balance, apply: (a) => apply.run(a, io, { connect }) });
    }
    default:
      throw new UsageError(sub === undefined ? 'missing lab command' : `unknown lab command '${sub}'`, "run 'hvmctl lab --help'");
  }
}

function requireLab(): LabState {
  assertRoot();
  const state = readLabState();
  if (!state) throw notUp();
  return state;
}

function assertRoot(): void {
  if (process.getuid?.() !== 0) throw notRoot();
}

function hostOf(state: LabState, name: string) {
  const host = state.hosts.find((h) => h.name === name || h.fqdn === name || h.address === name);
  if (!host) throw new UsageError(`no lab host '${name}'`, `lab hosts: ${state.hosts.map((h) => h.name).join(', ')}`);
  return host;
}

