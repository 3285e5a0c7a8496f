// `hvmctl lab up`: build the inventory's hosts on this machine.
// bridge (gateway address, no forwarding) → per host: netns + veth with the
// inventory's address and MAC, cgroups, then host-init.sh under `ip netns exec
// … unshare` (own mount/UTS/PID namespaces, overlay root, services) → wait
// until every host says ready → pin the host keys → state.json.
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Inventory } from '../src/inventory/types.ts';
import { repoPath } from '../src/paths.ts';
import { alreadyUp, LabError, noKvm, notRoot } from './lab-error.ts';
import { mustLocal, runLocal } from './local.ts';
import { recordHostKeys } from './known-hosts.ts';
import type { HostKeys } from './known-hosts.ts';
import { assertLabRoute } from './route-guard.ts';
import type { LabHostState, LabState } from './state.ts';
import { writeLabState } from './state.ts';
import type { LabHost } from './topology.ts';
import { LAB_BRIDGE, LAB_DIR, labTopology } from './topology.ts';
import { labDown } from './down.ts';
import { waitForPort } from './wait.ts';

const here = repoPath('lab');
const READY_TIMEOUT_MS = 30_000;

export interface UpOptions {
  readonly knownHosts: string;
  /** The operator's private key (default: the inventory's ssh.identity). */
  readonly identity?: string;
  readonly progress: (line: string) => void;
  readonly readyTimeoutMs?: number;
  /** Every host runs only sshd and cron (apply benchmarks with many hosts). */
  readonly sshdOnly?: boolean;
  /** Guests in QEMU's software emulation instead of KVM (where /dev/kvm is missing). */
  readonly tcg?: boolean;
}

/** What is left of a lab on this machine, or undefined when there is none. */
export function labPresence(): string | undefined {
  if (runLocal(['ip', 'link', 'show', LAB_BRIDGE]).code === 0) return `bridge ${LAB_BRIDGE} exists`;
  const ns = runLocal(['ip', 'netns', 'list']).stdout.match(/^hvmlab-\S+/m);
  if (ns) return `network namespace ${ns[0]} exists`;
  if (readFileSync('/proc/mounts', 'utf8').includes(` ${LAB_DIR} `)) return `${LAB_DIR} is mounted`;
  return undefined;
}

export function assertCanRunLab(accel: 'kvm' | 'tcg' = 'kvm'): void {
  if (process.getuid?.() !== 0) throw notRoot();
  if (accel === 'kvm' && !existsSync('/dev/kvm')) throw noKvm();
}

export async function labUp(inv: Inventory, options: UpOptions): Promise<LabState> {
  const started = Date.now();
  const say = (line: string) => options.progress(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
  const accel = options.tcg ? 'tcg' : 'kvm';
  assertCanRunLab(accel);
  if (accel === 'tcg') say('guests: software emulation (TCG, --tcg): slower, but the same load behaviour');
  const present = labPresence();
  if (present) throw alreadyUp(present);

  say('packages: checking (lab/install-packages.sh)');
  mustLocal(['bash', path.join(here, 'install-packages.sh')], { timeoutMs: 600_000, hint: 'the lab needs the Debian packages listed in lab/install-packages.sh' });

  const identity = options.identity ?? inv.ssh.identity;
  const pubkey = ensureIdentity(identity, say);
  const topo = labTopology(inv);
  try {
    say(`network: bridge ${topo.bridge} ${topo.gatewayCidr} (no forwarding out of the lab)`);
    mkdirSync(LAB_DIR, { recursive: true });
    mustLocal(['mount', '-t', 'tmpfs', '-o', 'mode=0700', 'hvmlab-state', LAB_DIR]);
    mustLocal(['ip', 'link', 'add', topo.bridge, 'type', 'bridge']);
    mustLocal(['sysctl', '-qw', `net.ipv4.conf.${topo.bridge}.forwarding=0`]);
    mustLocal(['ip', 'addr', 'add', topo.gatewayCidr, 'dev', topo.bridge]);
    mustLocal(['ip', 'link', 'set', topo.bridge, 'up']);

    for (const host of topo.hosts) {
      plumbHost(host, topo.prefix, inv.cluster.gateway);
      startHost(host, pubkey, inv.nfs.export, options.sshdOnly === true);
      say(`${host.name}: ${host.role} ${host.address} (${host.netns}) starting`);
    }
    const ready = await waitReady(topo.hosts, options.readyTimeoutMs ?? Math.max(READY_TIMEOUT_MS, topo.hosts.length * 1000));
    const withPids: LabHostState[] = topo.hosts.map((h) => ({ ...h, initPid: ready.get(h.name)! }));

    for (const h of withPids) {
      assertLabRoute(h.address);
      await waitForPort(h.address, 22, 10_000);
    }
    recordHostKeys(options.knownHosts, withPids.map(hostKeys));
    say(`ssh: host keys of ${withPids.length} hosts pinned in ${options.knownHosts}`);

    const state: LabState = {
      version: 1,
      inventory: inv.file,
      knownHosts: options.knownHosts,
      identity,
      bridge: topo.bridge,
      gatewayCidr: topo.gatewayCidr,
      startedAt: new Date(started).toISOString(),
      sshdOnly: options.sshdOnly === true,
      accel,
      hosts: withPids,
    };
    writeLabState(state);
    say(`lab up: ${withPids.length} hosts${options.sshdOnly ? ' (sshd only)' : ''} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return state;
  } catch (error) {
    say('lab up failed; removing what was built');
    await labDown({ progress: () => undefined, knownHosts: [options.knownHosts] }).catch(() => undefined);
    throw error;
  }
}

function ensureIdentity(identity: string, say: (l: string) => void): string {
  if (!existsSync(identity)) {
    say(`ssh: no ${identity}, generating an ed25519 key there`);
    mkdirSync(path.dirname(identity), { recursive: true, mode: 0o700 });
    mustLocal(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'hvmctl-operator', '-f', identity]);
  }
  const pub = `${identity}.pub`;
  if (!existsSync(pub)) {
    writeFileSync(pub, mustLocal(['ssh-keygen', '-y', '-f', identity]), { mode: 0o644 });
  }
  const key = readFileSync(pub, 'utf8').trim();
  if (!/^(ssh-|ecdsa-)\S+ \S+/.test(key)) {
    throw new LabError('E_LAB_KEY', `${pub} does not look like an SSH public key`, { hint: `regenerate it: ssh-keygen -y -f ${identity} > ${pub}` });
  }
  return key;
}

function plumbHost(host: LabHost, prefix: number, gateway: string): void {
  const ns = host.netns;
  mustLocal(['ip', 'netns', 'add', ns]);
  mustLocal(['ip', 'link', 'add', host.veth, 'type', 'veth', 'peer', 'name', host.interface, 'netns', ns]);
  mustLocal(['ip', 'link', 'set', host.veth, 'master', LAB_BRIDGE, 'up']);
  mustLocal(['ip', '-n', ns, 'link', 'set', host.interface, 'address', host.mac]);
  mustLocal(['ip', '-n', ns, 'addr', 'add', `${host.address}/${prefix}`, 'dev', host.interface]);
  mustLocal(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  mustLocal(['ip', '-n', ns, 'link', 'set', host.interface, 'up']);
  mustLocal(['ip', '-n', ns, 'route', 'add', 'default', 'via', gateway]);
  for (const cg of host.cgroups) mkdirSync(cg, { recursive: true });
  mkdirSync(host.dir, { recursive: true });
}

/** Starts host-init.sh detached, in the host's cgroups and netns; it records its own pid (init.pid). */
function startHost(host: LabHost, pubkey: string, exportDir: string, sshdOnly: boolean): void {
  const log = openSync(path.join(host.dir, 'console.log'), 'a');
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      'for g in "$@"; do case $g in --) shift; break;; esac; echo $$ >"$g/cgroup.procs" || exit 125; shift; done; exec "$@"',
      'hvmlab-launch',
      ...host.cgroups,
      '--',
      'ip',
      'netns',
      'exec',
      host.netns,
      'unshare',
      '--mount',
      '--uts',
      '--pid',
      '--fork',
      '--propagation',
      'private',
      path.join(here, 'host-init.sh'),
    ],
    {
      detached: true,
      stdio: ['ignore', log, log],
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: 'C.UTF-8',
        HOME: '/root',
        LAB_DIR: host.dir,
        LAB_HOST: host.name,
        LAB_FQDN: host.fqdn,
        LAB_ROLE: host.role,
        LAB_PUBKEY: pubkey,
        LAB_UUID: randomUUID(),
        LAB_BOOT: path.join(here, 'host-boot.sh'),
        LAB_EXPORT: host.role === 'storage' ? exportDir : '',
        LAB_SSHD_ONLY: sshdOnly ? '1' : '',
      },
    },
  );
  child.unref();
  closeSync(log);
}

async function waitReady(hosts: readonly LabHost[], timeoutMs: number): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  const ready = new Map<string, number>();
  while (ready.size < hosts.length) {
    for (const h of hosts) {
      if (ready.has(h.name)) continue;
      const pidFile = path.join(h.dir, 'init.pid');
      if (!existsSync(pidFile)) continue;
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (!existsSync(`/proc/${pid}`)) {
        throw new LabError('E_LAB_HOST', `${h.name} stopped while starting`, { hint: `its console: ${consoleTail(h)}` });
      }
      if (existsSync(`/proc/${pid}/root/run/hvmctl-lab.ready`)) ready.set(h.name, pid);
    }
    if (ready.size === hosts.length) break;
    if (Date.now() > deadline) {
      const late = hosts.filter((h) => !ready.has(h.name));
      throw new LabError('E_LAB_TIMEOUT', `hosts not ready after ${timeoutMs / 1000} s: ${late.map((h) => h.name).join(', ')}`, {
        hint: late.map((h) => `${h.name}: ${consoleTail(h)}`).join('\n'),
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return ready;
}

function consoleTail(h: LabHost): string {
  try {
    return readFileSync(path.join(h.dir, 'console.log'), 'utf8').trim().split('\n').slice(-5).join(' | ') || '(empty)';
  } catch {
    return '(no console log)';
  }
}

function hostKeys(h: LabHostState): HostKeys {
  const dir = `/proc/${h.initPid}/root/etc/ssh`;
  const keys = readdirSync(dir)
    .filter((f) => /^ssh_host_.*_key\.pub$/.test(f))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8').trim());
  return { names: [h.address, h.fqdn, h.name], keys };
}
