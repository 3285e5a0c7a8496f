// npm run bench:apply — wall time of hvmctl and Ansible doing the same work on
// the local lab: a cold bootstrap of blank hosts and a no-change re-apply,
// side by side, then how hvmctl's no-change re-apply grows with the number of
// hosts (sshd-only lab hosts: 4, 25, 100). Prints figures; it is a benchmark,
// not a test, but it stops (exit 1) when a run fails or is not what it claims
// to be (a "no-change" run that changed something, a playbook that leaves
// hvmctl something to do).
//
// Needs root and /dev/kvm. It takes the lab lock (/tmp/hvmctl-lab-usage.lock)
// for the whole run, brings labs up and down itself, and refuses to start
// while someone's lab is up unless given --replace-lab (then it leaves a fresh
// lab of the same kind when done).
//
// The Ansible side (--ansible) is not available on the booted lab yet: its
// hosts start bare (no libvirt, QEMU, ganesha, iptables; the address on eth0),
// and bench/ansible/playbook.yml, written for the earlier lab whose hosts had
// every package, does not install packages, move the address onto the bridge,
// write the IPv6 rules or enable the boot-time firewall. Its figures
// (bench/results-2026-11-24-precompiled.txt) were taken on that earlier lab.
//
//   npm run bench:apply [-- --replace-lab] [--sizes 4,25,100] [--repeat N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadInventory } from '../src/inventory/load.ts';
import { balancerHosts, hypervisors, storageHosts } from '../src/inventory/types.ts';
import type { Inventory } from '../src/inventory/types.ts';
import { balancerPaths } from '../src/render/balancer-paths.ts';
import { generatedInventory } from './inventory-gen.ts';
import { ansibleInventory } from './ansible-inventory.ts';
import { parseAnsibleRecap, parseHvmctlRecap } from './recap.ts';
import type { Recap } from './recap.ts';
import { assertLabRoute } from '../src/connector/route-guard.ts';

const LOCK = '/tmp/hvmctl-lab-usage.lock';
const self = fileURLToPath(import.meta.url);
const repo = path.resolve(path.dirname(self), '..');
const bin = path.join(repo, 'bin/hvmctl.js');

// --- options ------------------------------------------------------------------
const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const replaceLab = argv.includes('--replace-lab');
if (argv.includes('--ansible')) {
  console.error(
    'bench:apply: --ansible is not available on the booted lab yet: bench/ansible/playbook.yml does not install packages,\n' +
      'move the address onto the bridge, write the IPv6 rules or enable the boot-time firewall, which the bare hosts need\n' +
      '(its earlier figures, on the namespace lab: bench/results-2026-11-24-precompiled.txt)',
  );
  process.exit(64);
}
// The comparison code below stays for the playbook's update (see the top of this file).
const withAnsible = false;
const sizes = (opt('--sizes') ?? '4,25,100').split(',').map(Number);
const repeat = Number(opt('--repeat') ?? '5');
if (sizes.some((n) => !Number.isInteger(n) || n < 2 || n > 120) || !Number.isInteger(repeat) || repeat < 1) {
  console.error('usage: npm run bench:apply -- [--replace-lab] [--sizes 4,25,100 (2..120)] [--repeat N (≥1)]');
  process.exit(64);
}

// --- the lab lock: re-run this script under flock ------------------------------
if (process.env.HVMCTL_BENCH_LOCKED !== '1') {
  const r = spawnSync('flock', ['--verbose', LOCK, process.execPath, ...process.execArgv, self, ...argv], {
    stdio: 'inherit',
    env: { ...process.env, HVMCTL_BENCH_LOCKED: '1' },
  });
  process.exit(r.status ?? 1);
}

interface Run {
  readonly code: number;
  readonly ms: number;
  readonly out: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: repo, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1', ...env } });
  const ms = performance.now() - t0;
  return { code: r.status ?? -1, ms, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Set while a lab this bench brought up is up, and what was up before the bench. */
let ourLab = false;
let foundLab: { inventory: string; sshdOnly: boolean } | undefined;

function fail(message: string): never {
  console.error(`bench:apply: ${message}`);
  let down = true;
  if (ourLab) {
    ourLab = false;
    console.error('bench: taking down the lab it brought up');
    down = hvm(['lab', 'down']).code === 0;
  }
  if (down && foundLab) {
    console.error(`bench: leaving a fresh lab as found (${foundLab.inventory})`);
    hvm(['lab', 'up', '-i', foundLab.inventory, ...(foundLab.sshdOnly ? ['--sshd-only'] : [])]);
  }
  process.exit(1);
}

function must(label: string, r: Run): Run {
  if (r.code !== 0) fail(`${label} failed (exit ${r.code}):\n${r.out.slice(-4000)}`);
  return r;
}

// HVMCTL_LAB_ONLY=1: apply refuses any host not routed through the lab bridge.
const hvm = (args: string[]): Run => run(process.execPath, [bin, ...args], { HVMCTL_LAB_ONLY: '1' });

// --- prerequisites --------------------------------------------------------------
function prerequisites(): void {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (the lab needs it): run as root');
  if (!existsSync('/dev/kvm')) missing.push('/dev/kvm (the lab hypervisors run KVM guests)');
  if (withAnsible) {
    if (run('ansible-playbook', ['--version']).code !== 0) missing.push('ansible-playbook: apt-get install -y ansible');
    // The modules run on the lab hosts, whose /usr/bin/python3 is this machine's.
    if (run('/usr/bin/python3', ['-c', 'import libvirt']).code !== 0) {
      missing.push('python3-libvirt (community.libvirt.virt_pool imports it): apt-get install -y python3-libvirt');
    }
    if (run('/usr/bin/python3', ['-c', 'import lxml']).code !== 0) {
      missing.push('python3-lxml (community.libvirt.virt_pool imports it): apt-get install -y python3-lxml');
    }
    const collections = run('ansible-galaxy', ['collection', 'list']).out;
    for (const c of ['community.libvirt', 'community.crypto', 'ansible.posix']) {
      if (!new RegExp(`^${c.replace('.', '\\.')}\\s`, 'm').test(collections)) missing.push(`Ansible collection ${c}: apt-get install -y ansible (Debian ships it)`);
    }
  }
  if (missing.length > 0) fail(`missing prerequisites:\n  - ${missing.join('\n  - ')}`);
}

// --- the lab --------------------------------------------------------------------
interface LabFound {
  readonly inventory: string;
  readonly sshdOnly: boolean;
}

function labFound(): LabFound | undefined {
  const r = hvm(['lab', 'status', '--json']);
  if (r.code === 3) return undefined;
  if (r.code !== 0) fail(`lab status failed (exit ${r.code}):\n${r.out}`);
  const s = JSON.parse(r.out) as { up: boolean; inventory: string; sshdOnly: boolean };
  return s.up ? { inventory: s.inventory, sshdOnly: s.sshdOnly } : undefined;
}

function labDown(): void {
  must('lab down', hvm(['lab', 'down']));
  ourLab = false;
}

function labUp(inventory: string, sshdOnly: boolean): void {
  ourLab = true; // a failed lab up removes what it built, but a down is harmless
  must(`lab up${sshdOnly ? ' --sshd-only' : ''} (${inventory})`, hvm(['lab', 'up', '-i', inventory, ...(sshdOnly ? ['--sshd-only'] : [])]));
}

// --- figures ----------------------------------------------------------------------
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

function noChange(label: string, r: Run, recap: Recap, hosts: number): void {
  if (recap.ok < hosts) fail(`${label}: only ${recap.ok} tasks ran on ${hosts} hosts (did the tags select anything?):\n${r.out.slice(-3000)}`);
  if (recap.hosts !== hosts) fail(`${label}: recap lists ${recap.hosts} hosts, expected ${hosts}:\n${r.out.slice(-3000)}`);
  if (recap.changed !== 0 || recap.failed !== 0 || recap.unreachable !== 0) {
    fail(`${label}: expected no change, got changed=${recap.changed} failed=${recap.failed} unreachable=${recap.unreachable}:\n${r.out.slice(-4000)}`);
  }
}

/** Runs `fn` `n` times; every run must be a no-change run. */
function warmRuns(label: string, n: number, hosts: number, fn: () => Run, parse: (out: string) => Recap): number[] {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = must(label, fn());
    noChange(`${label} #${i + 1}`, r, parse(r.out), hosts);
    times.push(r.ms);
  }
  return times;
}

// --- main -----------------------------------------------------------------------
prerequisites();
const found = labFound();
if (found && !replaceLab) {
  fail(
    `a lab is up (${found.sshdOnly ? 'sshd-only, ' : ''}inventory ${found.inventory}); someone may be using it.\n` +
      'Check with `node bin/hvmctl.js lab status`, then either take it down yourself or run\n' +
      '`npm run bench:apply -- --replace-lab` (the bench then leaves a fresh lab of the same kind behind).',
  );
}
if (found) {
  console.error(`bench: replacing the lab that was up (${found.inventory}${found.sshdOnly ? ', sshd-only' : ''})`);
  labDown();
  foundLab = found;
}

// What users run: bin/hvmctl.js starts dist/hvmctl.mjs, the precompiled CLI.
// Build it now (a no-op when fresh) so that no timed run includes a rebuild.
{
  const built = run(process.execPath, [bin, '--version'], { HVMCTL_DEBUG: '1' });
  if (built.code !== 0 || !built.out.includes('running dist/hvmctl.mjs')) {
    console.error(`bench:apply: the precompiled CLI does not run (npm run build):\n${built.out}`);
    process.exit(1);
  }
  console.error('bench: hvmctl runs dist/hvmctl.mjs (the precompiled CLI)');
}

const work = mkdtempSync(path.join(tmpdir(), 'hvmctl-bench-'));
const mainInventory = path.join(repo, 'inventory.yaml');
const inv = await loadInventory(mainInventory);

// Both tools install the same rendered files: `hvmctl render` writes them.
async function renderFor(invFile: string, dir: string): Promise<void> {
  must('render', hvm(['render', '-i', invFile, '-o', dir]));
  const i = await loadInventory(invFile);
  const { buildAgentBundle } = await import('../balancer/bundle.ts');
  const bundle = await buildAgentBundle();
  for (const home of balancerHosts(i.balancer)) {
    mkdirSync(path.join(dir, home, balancerPaths.dir), { recursive: true });
    writeFileSync(path.join(dir, home, balancerPaths.script), bundle);
  }
}

function ansibleRunner(i: Inventory, renderDir: string, tags?: string): () => Run {
  const hostsFile = path.join(work, `hosts-${i.hosts.length}.ini`);
  writeFileSync(hostsFile, ansibleInventory(i, renderDir));
  // Fresh SSH control sockets per lab: Ansible's ControlPersist masters of a
  // lab that was just taken down would hang the next run.
  const controlDir = mkdtempSync(path.join(work, 'ansible-cp-'));
  return () => {
    // Nothing leaves the lab: every host must be routed through the lab bridge (throws otherwise).
    try {
      for (const h of i.hosts) assertLabRoute(h.sshHost);
    } catch (error) {
      fail(`not running Ansible: ${(error as Error).message}`);
    }
    return run('ansible-playbook', ['-i', hostsFile, path.join(repo, 'bench/ansible/playbook.yml'), ...(tags ? ['--tags', tags] : [])], {
      ANSIBLE_HOST_KEY_CHECKING: 'True',
      ANSIBLE_FORKS: '10',
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_RETRY_FILES_ENABLED: '0',
      ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
    });
  };
}

interface Row {
  readonly tool: string;
  readonly cold: number;
  readonly warm: number[];
}
const rows: Row[] = [];

// 1. The four-host lab, everything apply manages.
{
  const renderDir = path.join(work, 'render-4');
  await renderFor(mainInventory, renderDir);
  const hosts = inv.hosts.length;

  console.error('bench: hvmctl on a fresh lab');
  labUp(mainInventory, false);
  const cold = must('hvmctl apply (cold)', hvm(['apply']));
  if (parseHvmctlRecap(cold.out).changed === 0) fail(`hvmctl apply (cold) changed nothing on a fresh lab:\n${cold.out.slice(-3000)}`);
  const warm = warmRuns('hvmctl apply (no change)', repeat, hosts, () => hvm(['apply']), parseHvmctlRecap);
  rows.push({ tool: 'hvmctl', cold: cold.ms, warm });
  labDown();

  if (withAnsible) {
    console.error('bench: ansible-playbook on a fresh lab');
    labUp(mainInventory, false);
    const ansible = ansibleRunner(inv, renderDir);
    const aCold = must('ansible-playbook (cold)', ansible());
    if (parseAnsibleRecap(aCold.out).changed === 0) fail(`ansible-playbook (cold) changed nothing on a fresh lab:\n${aCold.out.slice(-3000)}`);
    const aWarm = warmRuns('ansible-playbook (no change)', Math.min(repeat, 3), hosts, ansible, parseAnsibleRecap);
    // Equivalence: after the playbook, hvmctl must find nothing to change.
    const check = must('hvmctl apply --check after ansible', hvm(['apply', '--check']));
    const c = parseHvmctlRecap(check.out);
    if (c.changed !== 0) {
      fail(`the playbook does not do hvmctl's work: after it, hvmctl apply --check would change ${c.changed} things:\n${check.out.slice(-5000)}`);
    }
    rows.push({ tool: 'ansible', cold: aCold.ms, warm: aWarm });
    labDown();
  }
}

// 2. Scaling: no-change re-apply on N sshd-only hosts.
const SCALE_TAGS = 'hosts,firewall';
interface ScaleRow {
  readonly hosts: number;
  readonly hvmctl: number[];
  readonly ansible: number[] | undefined;
}
const scale: ScaleRow[] = [];
for (const n of sizes) {
  const invFile = path.join(work, `inventory-${n}.yaml`);
  writeFileSync(invFile, generatedInventory(readFileSync(mainInventory, 'utf8'), n));
  const i = await loadInventory(invFile);
  console.error(`bench: ${n} sshd-only hosts`);
  labUp(invFile, true);
  must(`hvmctl apply --tags ${SCALE_TAGS} (${n} hosts, cold)`, hvm(['apply', '-i', invFile, '--tags', SCALE_TAGS]));
  const h = warmRuns(`hvmctl apply --tags ${SCALE_TAGS} (${n} hosts, no change)`, repeat, n, () => hvm(['apply', '-i', invFile, '--tags', SCALE_TAGS]), parseHvmctlRecap);
  let a: number[] | undefined;
  if (withAnsible) {
    const renderDir = path.join(work, `render-${n}`);
    await renderFor(invFile, renderDir);
    const ansible = ansibleRunner(i, renderDir, SCALE_TAGS);
    a = warmRuns(`ansible-playbook --tags ${SCALE_TAGS} (${n} hosts)`, 1, n, ansible, parseAnsibleRecap);
  }
  scale.push({ hosts: n, hvmctl: h, ansible: a });
  labDown();
}

foundLab = undefined;
if (found) {
  console.error(`bench: leaving a fresh lab as found (${found.inventory}${found.sshdOnly ? ', sshd-only' : ''})`);
  labUp(found.inventory, found.sshdOnly);
}

// --- report -------------------------------------------------------------------------
const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? 'unknown CPU';
console.log(`\nbench:apply on ${cpu}; wall time of the whole command (process start to exit), median of ${repeat} no-change runs (Ansible: of ${Math.min(repeat, 3)})`);
console.log(`\n1. Four booted lab hosts (storage + 3 hypervisors, Debian 12 with systemd, bare), everything apply manages: packages`);
console.log('   installed from the lab repository, /etc/hosts, the bridge (with a network restart), IPv4/IPv6 firewall and its boot-time');
console.log('   loader, NFS export (ganesha), libvirt pool, cluster SSH key pairs and trust, balancer and its timer.\n');
console.log('tool       cold bootstrap   no-change re-apply (min … max)');
for (const r of rows) {
  console.log(`${r.tool.padEnd(9)} ${sec(r.cold).padStart(15)}   ${sec(median(r.warm)).padStart(8)} (${sec(Math.min(...r.warm))} … ${sec(Math.max(...r.warm))})`);
}
const [h, a] = rows;
if (h && a) {
  console.log(`ratio ansible/hvmctl ${`${(a.cold / h.cold).toFixed(1)}x`.padStart(10)}   ${`${(median(a.warm) / median(h.warm)).toFixed(1)}x`.padStart(8)}`);
}
if (h) {
  const m = median(h.warm);
  const ratio = a ? median(a.warm) / m : undefined;
  console.log(
    `targets: no-change under 1 s: ${m < 1000 ? 'met' : 'MISSED'} (${sec(m)})` +
      (ratio === undefined ? '' : `; ≥10x faster than Ansible: ${ratio >= 10 ? 'met' : 'MISSED'} (${ratio.toFixed(1)}x)`),
  );
}
console.log(`\n2. No-change re-apply vs number of hosts: lab up --sshd-only (1 storage + N-1 hypervisors, sshd only, no init),`);
console.log(`   apply --tags ${SCALE_TAGS} (per host: /etc/hosts with every host, firewall rules file and live rules), --forks 10 (default)\n`);
console.log(`hosts   hvmctl no-change (min … max)   per host${withAnsible ? '   ansible no-change   ratio' : ''}`);
for (const s of scale) {
  const m = median(s.hvmctl);
  const base = `${String(s.hosts).padStart(5)}   ${sec(m).padStart(8)} (${sec(Math.min(...s.hvmctl))} … ${sec(Math.max(...s.hvmctl))})   ${`${(m / s.hosts).toFixed(0)} ms`.padStart(8)}`;
  const extra = s.ansible ? `   ${sec(median(s.ansible)).padStart(17)}   ${`${(median(s.ansible) / m).toFixed(1)}x`.padStart(5)}` : '';
  console.log(base + extra);
}
console.log(`\n(command: npm run bench:apply${argv.length ? ` -- ${argv.join(' ')}` : ''}; Ansible ${run('ansible', ['--version']).out.split('\n')[0] ?? ''}, forks 10, facts off)`);
