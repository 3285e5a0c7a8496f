// npm run bench:apply — wall time of hvmctl and Ansible doing the same work on
// the local lab: a cold bootstrap of blank hosts and a no-change re-apply,
// side by side. Prints figures; asserts nothing (it is a benchmark, not a test).
// Needs root and /dev/kvm; brings the lab up and down itself.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadInventory } from '../src/inventory/load.ts';
import { hypervisors, storageHosts } from '../src/inventory/types.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(repo, 'bin/hvmctl.js');

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { code: number; ms: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: repo, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });
  const ms = performance.now() - t0;
  return { code: r.status ?? -1, ms, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function must(label: string, r: { code: number; out: string }): void {
  if (r.code !== 0) {
    console.error(`${label} failed (exit ${r.code}):\n${r.out.slice(-3000)}`);
    process.exit(1);
  }
}

function freshLab(): void {
  run(process.execPath, [bin, 'lab', 'down']);
  must('lab up', run(process.execPath, [bin, 'lab', 'up']));
}

const inv = await loadInventory(path.join(repo, 'inventory.yaml'));
const work = mkdtempSync(path.join(tmpdir(), 'hvmctl-bench-'));
const renderDir = path.join(work, 'render');
must('render', run(process.execPath, [bin, 'render', '-o', renderDir]));
const { buildAgentBundle } = await import('../balancer/bundle.ts');
for (const home of inv.balancer.home) {
  mkdirSync(path.join(renderDir, home, 'opt/hvmctl'), { recursive: true });
  writeFileSync(path.join(renderDir, home, 'opt/hvmctl/balancer.mjs'), await buildAgentBundle());
}

const line = (h: { name: string; address: string }) =>
  `${h.name} ansible_host=${h.address} ansible_user=${inv.ssh.user} ansible_port=${inv.ssh.port}`;
const ansibleInventory = [
  '[storage]',
  ...storageHosts(inv).map(line),
  '[hypervisors]',
  ...hypervisors(inv).map(line),
  '[balancer]',
  ...inv.balancer.home,
  '[all:vars]',
  `ansible_ssh_private_key_file=${inv.ssh.identity}`,
  `ansible_ssh_common_args='-o UserKnownHostsFile=${inv.ssh.knownHosts} -o StrictHostKeyChecking=yes'`,
  `render_dir=${renderDir}`,
  `nfs_export=${inv.nfs.export}`,
  `pool_name=${inv.pool.name}`,
  `pool_path=${inv.pool.path}`,
  `domain=${inv.cluster.domain}`,
  '',
].join('\n');
writeFileSync(path.join(work, 'hosts.ini'), ansibleInventory);
const ansible = (): ReturnType<typeof run> =>
  run('ansible-playbook', ['-i', path.join(work, 'hosts.ini'), path.join(repo, 'bench/ansible/playbook.yml')], {
    ANSIBLE_HOST_KEY_CHECKING: 'True',
    ANSIBLE_FORKS: '10',
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
  });
const hvmctl = (): ReturnType<typeof run> => run(process.execPath, [bin, 'apply']);

const results: { tool: string; cold: number; warm: number }[] = [];

freshLab();
const hCold = hvmctl();
must('hvmctl apply (cold)', hCold);
const hWarm = hvmctl();
must('hvmctl apply (no change)', hWarm);
results.push({ tool: 'hvmctl', cold: hCold.ms, warm: hWarm.ms });

freshLab();
const aCold = ansible();
must('ansible-playbook (cold)', aCold);
const aWarm = ansible();
must('ansible-playbook (no change)', aWarm);
results.push({ tool: 'ansible', cold: aCold.ms, warm: aWarm.ms });

run(process.execPath, [bin, 'lab', 'down']);

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log('\nbench:apply — four lab hosts (storage + 3 hypervisors), wall time including process start');
console.log('tool      cold bootstrap   no-change re-apply');
for (const r of results) console.log(`${r.tool.padEnd(9)} ${fmt(r.cold).padStart(14)}   ${fmt(r.warm).padStart(18)}`);
const [h, a] = results;
if (h && a) {
  console.log(`ratio (ansible / hvmctl): cold ${(a.cold / h.cold).toFixed(1)}x, no-change ${(a.warm / h.warm).toFixed(1)}x`);
}
