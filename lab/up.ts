// `hvmctl lab up`: build the inventory's hosts on this machine, as freshly
// installed Debian 12 servers that boot with systemd.
// image (cached; lab/image.ts) → lab tmpfs, bridge (gateway address, no
// forwarding) → cgroups (a CPU and memory per host) → lxcfs (each host's own
// /proc) → per host: a copy-on-write layer over the image with the host's
// identity (name, installer-style /etc/network/interfaces on eth0, SSH host
// keys, the operator's key) → lab/supervise.sh (network namespace + nspawn,
// again at every reboot) → wait until each host's systemd is up and sshd
// answers → pin the host keys → state.json.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Inventory } from '../src/inventory/types.ts';
import { repoPath } from '../src/paths.ts';
import { labDown } from './down.ts';
import { ensureImage, REPO_IN_HOST } from './image.ts';
import { recordHostKeys } from './known-hosts.ts';
import type { HostKeys } from './known-hosts.ts';
import { alreadyUp, LabError, noKvm, notRoot } from './lab-error.ts';
import { labRepoPackages } from './packages.ts';
import { mustLocal, runLocal } from './local.ts';
import { assertLabRoute } from '../src/connector/route-guard.ts';
import { waitHostsReady } from './ready.ts';
import type { LabState } from './lab-record.ts';
import { writeLabState } from './lab-record.ts';
import type { LabHost, LabTopology } from './topology.ts';
import { CGROUP_PARENT, CGROUP_ROOT, hostCgroups, LAB_BRIDGE, LAB_CPU_SHARES, LAB_DIR, LAB_KVM, LAB_LOCKSPACE, labTopology, LXCFS_DIR } from './topology.ts';

const READY_TIMEOUT_MS = 90_000;

export interface UpOptions {
  readonly knownHosts: string;
  /** The operator's private key (default: the inventory's ssh.identity). */
  readonly identity?: string;
  readonly progress: (line: string) => void;
  readonly readyTimeoutMs?: number;
  /** Every host runs only sshd, no init (apply benchmarks with many hosts). */
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
  mustLocal(['bash', repoPath('lab', 'install-packages.sh')], { timeoutMs: 900_000, hint: 'the lab needs the Debian packages listed in lab/install-packages.sh' });
  const image = await ensureImage(labRepoPackages(), say);
  say(`image: ${image.dir}`);

  const identity = options.identity ?? inv.ssh.identity;
  const pubkey = ensureIdentity(identity, say);
  const topo = labTopology(inv);
  const sshdOnly = options.sshdOnly === true;
  try {
    say(`network: bridge ${topo.bridge} ${topo.gatewayCidr} (no forwarding out of the lab)`);
    mkdirSync(LAB_DIR, { recursive: true });
    mustLocal(['mount', '-t', 'tmpfs', '-o', 'mode=0700', 'hvmlab-state', LAB_DIR]);
    // 0755: it also stands in for the NFS mount QEMU (user libvirt-qemu) opens file disks on; the leases are in its files/ (0700).
    mkdirSync(LAB_LOCKSPACE, { mode: 0o755 });
    if (accel === 'kvm') say(`kvm: ${kvmNode(image.rootfs)}`);
    mustLocal(['ip', 'link', 'add', topo.bridge, 'type', 'bridge']);
    mustLocal(['sysctl', '-qw', `net.ipv4.conf.${topo.bridge}.forwarding=0`]);
    mustLocal(['sysctl', '-qw', `net.ipv6.conf.${topo.bridge}.forwarding=0`]);
    mustLocal(['ip', 'addr', 'add', topo.gatewayCidr, 'dev', topo.bridge]);
    mustLocal(['ip', 'link', 'set', topo.bridge, 'up']);

    const hierarchies = cgroupHierarchies();
    makeCgroups(hierarchies, topo);
    if (!sshdOnly) await startLxcfs(say);

    for (const host of topo.hosts) {
      prepareHost(host, topo, image.rootfs, pubkey, sshdOnly);
      startSupervisor(host, hierarchies, nspawnArgv(host, inv, image.repo, { accel, sshdOnly, topo }));
      say(`${host.name}: ${host.role} ${host.address}, ${host.cpus} cpu, ${host.memoryMiB} MiB: booting`);
    }
    const timeoutMs = options.readyTimeoutMs ?? Math.max(READY_TIMEOUT_MS, topo.hosts.length * 2000);
    await waitHostsReady({ hierarchies }, topo.hosts, { timeoutMs, sshdOnly, progress: say });
    for (const h of topo.hosts) assertLabRoute(h.address);
    recordHostKeys(options.knownHosts, topo.hosts.map(hostKeys));
    say(`ssh: host keys of ${topo.hosts.length} hosts pinned in ${options.knownHosts}`);

    const state: LabState = {
      version: 2,
      inventory: inv.file,
      knownHosts: options.knownHosts,
      identity,
      bridge: topo.bridge,
      gatewayCidr: topo.gatewayCidr,
      startedAt: new Date(started).toISOString(),
      sshdOnly,
      accel,
      image: image.dir,
      hierarchies,
      hosts: topo.hosts,
    };
    writeLabState(state);
    say(`lab up: ${topo.hosts.length} hosts${sshdOnly ? ' (sshd only)' : ''} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
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

/** The cgroup hierarchies mounted under /sys/fs/cgroup (v1 controllers, name=systemd, the v2 tree), from /proc/mounts. */
export function cgroupHierarchies(mounts = readFileSync('/proc/mounts', 'utf8')): string[] {
  const names: string[] = [];
  for (const line of mounts.split('\n')) {
    const [, where, type] = line.split(' ');
    if ((type === 'cgroup' || type === 'cgroup2') && where?.startsWith(`${CGROUP_ROOT}/`)) {
      const name = where.slice(CGROUP_ROOT.length + 1);
      if (!name.includes('/')) names.push(name);
    }
  }
  if (!names.some((n) => n === 'cpuacct' || n.split(',').includes('cpuacct'))) {
    throw new LabError('E_LAB_CGROUP', 'no cgroup v1 cpuacct hierarchy under /sys/fs/cgroup', { hint: 'the lab needs cgroups v1 (as ../shared/LAB-NOTES.md describes this machine)' });
  }
  return names;
}

function write(file: string, value: string): void {
  writeFileSync(file, value);
}

/** The lab's cgroup in every hierarchy, then one per host with its CPU quota and memory. */
function makeCgroups(hierarchies: readonly string[], topo: LabTopology): void {
  for (const h of hierarchies) {
    const parent = `${CGROUP_ROOT}/${h}/${CGROUP_PARENT}`;
    mkdirSync(parent, { recursive: true });
    if (h.split(',').includes('cpuset')) inheritCpuset(parent);
    if (h.split(',').includes('cpu')) write(`${parent}/cpu.shares`, String(LAB_CPU_SHARES));
    for (const host of topo.hosts) {
      const dir = `${parent}/${host.name}`;
      mkdirSync(dir, { recursive: true });
      const controllers = h.split(',');
      if (controllers.includes('cpuset')) inheritCpuset(dir);
      if (controllers.includes('cpu')) {
        const period = 100_000;
        write(`${dir}/cpu.cfs_period_us`, String(period));
        write(`${dir}/cpu.cfs_quota_us`, String(host.cpus * period));
      }
      if (controllers.includes('memory')) write(`${dir}/memory.limit_in_bytes`, String(host.memoryMiB * 1024 * 1024));
    }
  }
}

function inheritCpuset(dir: string): void {
  const parent = path.dirname(dir);
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    if (readFileSync(`${dir}/${f}`, 'utf8').trim() === '') write(`${dir}/${f}`, readFileSync(`${parent}/${f}`, 'utf8').trim());
  }
}

/** lxcfs with CPU views by quota (--enable-cfs): a host with one CPU's quota sees one CPU in /proc/stat and /proc/cpuinfo. */
async function startLxcfs(say: (l: string) => void): Promise<void> {
  mkdirSync(LXCFS_DIR, { recursive: true });
  const log = openSync(path.join(LAB_DIR, 'lxcfs.log'), 'a');
  const child = spawn('lxcfs', ['--enable-cfs', '-p', path.join(LAB_DIR, 'lxcfs.pid'), LXCFS_DIR], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  closeSync(log);
  const deadline = Date.now() + 10_000;
  while (!existsSync(path.join(LXCFS_DIR, 'proc', 'stat'))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new LabError('E_LAB_LXCFS', `lxcfs did not mount ${LXCFS_DIR}`, { hint: `see ${path.join(LAB_DIR, 'lxcfs.log')}; is /dev/fuse there?` });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  say(`lxcfs: ${LXCFS_DIR} (each host's own /proc/stat, /proc/meminfo, CPU count)`);
}

/** Pure: /etc/network/interfaces as Debian's installer writes it for a static address on the NIC. */
export function installerInterfaces(host: Pick<LabHost, 'interface' | 'address'>, prefix: number, gateway: string): string {
  return [
    '# This file describes the network interfaces available on your system',
    '# and how to activate them. For more information, see interfaces(5).',
    '',
    'source /etc/network/interfaces.d/*',
    '',
    '# The loopback network interface',
    'auto lo',
    'iface lo inet loopback',
    '',
    '# The primary network interface',
    `auto ${host.interface}`,
    `iface ${host.interface} inet static`,
    `\taddress ${host.address}/${prefix}`,
    `\tgateway ${gateway}`,
    '',
  ].join('\n');
}

/** The host's copy-on-write layer over the image, with what an installer leaves: name, address on the NIC, host keys, root's key. */
/**
 * The hypervisors' /dev/kvm: a node of the lab's own, on its tmpfs, for this
 * machine's KVM device, owned by the image's kvm group with mode 0660, so
 * QEMU (user libvirt-qemu, in group kvm) opens it as on a Debian server. This
 * machine's /dev/kvm is left as it is: it may be root's only (0600, no udev
 * rule gave it to a kvm group), and the lab changes nothing outside its own.
 */
function kvmNode(rootfs: string): string {
  const dev = statSync('/dev/kvm', { bigint: true });
  if (!dev.isCharacterDevice()) throw new LabError('E_LAB_NO_KVM', '/dev/kvm is not a character device', { hint: 'use --tcg for guests in software emulation' });
  const groupFile = path.join(rootfs, 'etc', 'group');
  const gid = groupId(readFileSync(groupFile, 'utf8'), 'kvm');
  if (gid === undefined) throw new LabError('E_LAB_IMAGE', `${groupFile}: the image has no kvm group`, { hint: 'remove /var/cache/hvmctl-lab so lab up builds the image again' });
  const { major, minor } = deviceNumbers(dev.rdev);
  mustLocal(['mknod', '-m', '0660', LAB_KVM, 'c', String(major), String(minor)]);
  chownSync(LAB_KVM, 0, gid);
  return `${LAB_KVM} (device ${major}:${minor}, group kvm ${gid}, 0660) is each hypervisor's /dev/kvm`;
}

/** Pure: the numeric id of group `name` in the text of an /etc/group file. */
export function groupId(groupFile: string, name: string): number | undefined {
  for (const line of groupFile.split('\n')) {
    const [group, , id] = line.split(':');
    if (group === name && id !== undefined && /^\d+$/.test(id)) return Number(id);
  }
  return undefined;
}

/** Pure: a device number's major and minor, as glibc's major() and minor() split it. */
export function deviceNumbers(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n)),
  };
}

function prepareHost(host: LabHost, topo: LabTopology, rootfs: string, pubkey: string, sshdOnly: boolean): void {
  const root = path.join(host.dir, 'root');
  for (const d of ['upper', 'work', 'root', 'data']) mkdirSync(path.join(host.dir, d), { recursive: true });
  mustLocal(['mount', '-t', 'overlay', `hvmlab-${host.name}`, '-o', `lowerdir=${rootfs},upperdir=${host.dir}/upper,workdir=${host.dir}/work`, root]);
  writeFileSync(`${root}/etc/hostname`, `${host.name}\n`);
  writeFileSync(`${root}/etc/hosts`, `127.0.0.1\tlocalhost\n127.0.1.1\t${host.fqdn}\t${host.name}\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n`);
  writeFileSync(`${root}/etc/machine-id`, `${randomUUID().replaceAll('-', '')}\n`);
  writeFileSync(`${root}/etc/network/interfaces`, installerInterfaces(host, topo.prefix, topo.gateway));
  if (sshdOnly) mustLocal(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `root@${host.name}`, '-f', `${root}/etc/ssh/ssh_host_ed25519_key`]);
  else mustLocal(['ssh-keygen', '-A', '-f', root]);
  mkdirSync(`${root}/root/.ssh`, { recursive: true, mode: 0o700 });
  writeFileSync(`${root}/root/.ssh/authorized_keys`, `${pubkey}\n`, { mode: 0o600 });
}

const SSHD_ONLY_START = [
  'mkdir -p /run/network /run/sshd',
  'ifup -a',
  'if ! command -v iptables-restore >/dev/null; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends iptables >/dev/null; fi',
  'exec /usr/sbin/sshd -D -e',
].join(' && ');

interface NspawnOptions {
  readonly accel: 'kvm' | 'tcg';
  readonly sshdOnly: boolean;
  readonly topo: LabTopology;
}

/** Pure: the systemd-nspawn command line that boots `host`. */
export function nspawnArgv(host: LabHost, inv: Pick<Inventory, 'nfs'>, repo: string, o: NspawnOptions): string[] {
  const argv = [
    'systemd-nspawn',
    '--quiet',
    // This machine's PID 1 is not systemd: no machined to register with, no unit to make.
    '--register=no',
    '--keep-unit',
    // hvmlab-*: what nspawn leaves in /run/systemd/nspawn after a kill is named for the lab.
    `--machine=hvmlab-${host.name}`,
    `--directory=${host.dir}/root`,
    `--network-namespace-path=/run/netns/${host.netns}`,
    // With the path, --private-network makes nspawn mount a sysfs of that
    // namespace (without it, /sys/class/net would be this machine's), and
    // gives the host CAP_NET_ADMIN: its network is its own to configure.
    '--private-network',
    '--resolv-conf=off',
    '--timezone=off',
    '--link-journal=no',
    '--console=read-only',
    `--bind-ro=${repo}:${REPO_IN_HOST}`,
  ];
  if (o.sshdOnly) {
    // No init: bring the NIC up the host's own way, then sshd in the
    // foreground. iptables is installed once (from the lab repository): the
    // many-host benchmark applies the firewall, whose rules file is validated
    // with iptables-restore before anything else of it runs.
    return [...argv, '--as-pid2', '/bin/sh', '-c', SSHD_ONLY_START];
  }
  argv.push(`--bind-ro=${LXCFS_DIR}:/var/lib/lxcfs`);
  if (host.role === 'hypervisor' && o.accel === 'kvm') argv.push(`--bind=${LAB_KVM}:/dev/kvm`);
  // The disk lockspace (nfs.locks.dir): on a real cluster an NFS mount every hypervisor
  // shares. This kernel has no NFS client, so the lab binds one directory of its own into
  // every hypervisor instead: the same inode, so virtlockd's fcntl locks meet as over NFS.
  if (host.role === 'hypervisor' && !inv.nfs.locks.mount) argv.push(`--bind=${LAB_LOCKSPACE}:${inv.nfs.locks.dir}`);
  // The storage node's data disk: a file system of its own at the export
  // (ganesha's VFS backend needs file handles, which an overlay does not give).
  // ganesha's VFS backend opens files by handle (open_by_handle_at), which
  // nspawn's default system call filter refuses, as a container escape on a
  // shared file system; this host is the lab's own storage node, and the only
  // file system it can reach by handle besides its own is its data disk.
  if (host.role === 'storage') argv.push(`--bind=${host.dir}/data:${inv.nfs.export}`, '--system-call-filter=open_by_handle_at name_to_handle_at');
  return [...argv, '--boot'];
}

function startSupervisor(host: LabHost, hierarchies: readonly string[], argv: readonly string[]): void {
  const log = openSync(path.join(host.dir, 'console.log'), 'a');
  const child = spawn('bash', [repoPath('lab', 'supervise.sh'), ...argv], {
    detached: true,
    stdio: ['ignore', log, log],
    env: {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      // No lock files in /run/systemd/nspawn/locks: lab down kills nspawn, which could not remove them.
      SYSTEMD_NSPAWN_LOCK: '0',
      LAB_HOST_DIR: host.dir,
      LAB_NETNS: host.netns,
      LAB_VETH: host.veth,
      LAB_IFACE: host.interface,
      LAB_MAC: host.mac,
      LAB_BRIDGE,
      LAB_CGROUPS: hostCgroups(hierarchies, host.name).join(' '),
    },
  });
  // Recorded here as well as by the script, so a wait that starts right now finds it.
  if (child.pid !== undefined) writeFileSync(path.join(host.dir, 'supervisor.pid'), `${child.pid}\n`);
  child.unref();
  closeSync(log);
}

function hostKeys(h: LabHost): HostKeys {
  const dir = path.join(h.dir, 'root', 'etc', 'ssh');
  const keys = readdirSync(dir)
    .filter((f) => /^ssh_host_.*_key\.pub$/.test(f))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8').trim());
  return { names: [h.address, h.fqdn, h.name], keys };
}

