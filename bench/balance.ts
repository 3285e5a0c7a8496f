// npm run bench:balance — what one balancer run costs, and how decide() scales.
//  1. One measure+decide cycle on THIS machine, as the cron job does it: /proc
//     and the local libvirtd (when none answers and we are root, the bench
//     re-runs itself beside a throwaway libvirtd with two tiny guests:
//     test/fixtures/captured-balancer/sandbox.sh, private mount+net namespace).
//     CPU time counts this process and its children (virsh). Compared with the
//     seed: mpstat 1 59 + virt-top -d 2 -n 27, i.e. a minute of sampling.
//  2. decide() on a synthetic cluster of 1,000 hosts and 20,000 VMs (target < 100 ms).
//  3. consolidate's history: decide() and the state file with an hour of
//     one-minute runs per VM (60 measurements each, what the agent keeps at
//     the default schedule), 200 hypervisors and 4,000 VMs.
//  4. One collect+decide cycle through the Prometheus source (cpu_source:
//     prometheus) for 200 hypervisors and 4,000 VMs (target < 1 s of CPU): the
//     PromQL answers come over HTTP from a stand-in server in a child process
//     (canned answers in Prometheus' JSON format, so its CPU is not counted),
//     libvirt's listing from a fake (on a cluster it is one `virsh domstats`
//     per host, run by the hosts' sshd and libvirtd).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../balancer/clock.ts';
import { collectSnapshot } from '../balancer/collect/snapshot.ts';
import { promQueries } from '../balancer/collect/prometheus.ts';
import type { DomainStats } from '../balancer/collect/domstats.ts';
import type { Libvirt } from '../balancer/libvirt.ts';
import { parseAgentConfig } from '../balancer/config.ts';
import { policyConfig } from '../balancer/cycle.ts';
import { createPeers } from '../balancer/peers.ts';
import { runProcess } from '../src/process.ts';
import { createHostFiles } from '../balancer/host-files.ts';
import { createVirshLibvirt } from '../balancer/libvirt.ts';
import { decide } from '../balancer/policy/decide.ts';
import { nextState, parseState, emptyState } from '../balancer/state-file.ts';
import type { BalancerConfig } from '../balancer/policy/strategies.ts';
import type { HostState, Snapshot, VmState } from '../balancer/types.ts';
import { LOCAL_LIBVIRT_URI } from '../src/libvirt-uri.ts';

const SEED_SAMPLING_S = 60;
const sampleSeconds = Number(process.env.HVMCTL_BENCH_SAMPLE_SECONDS ?? 5);

function childCpuMs(): number {
  // /proc/self/stat fields 16 and 17: cutime, cstime of reaped children, in clock ticks (USER_HZ 100).
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function benchCycle(): Promise<void> {
  const libvirtUp = spawnSync('virsh', ['-c', LOCAL_LIBVIRT_URI, 'version'], { stdio: 'ignore' }).status === 0;
  if (!libvirtUp && process.env.HVMCTL_BENCH_SANDBOX === undefined && process.getuid?.() === 0) {
    console.log(`no libvirtd answers on ${LOCAL_LIBVIRT_URI}: re-running beside a throwaway libvirtd (sandbox.sh, private namespaces)\n`);
    const sandbox = fileURLToPath(new URL('../test/fixtures/captured-balancer/sandbox.sh', import.meta.url));
    const r = spawnSync('unshare', ['--mount', '--net', '--propagation', 'private', 'bash', sandbox, process.execPath, ...process.execArgv, fileURLToPath(import.meta.url)], {
      stdio: 'inherit',
      env: { ...process.env, HVMCTL_BENCH_SANDBOX: '1' },
    });
    process.exit(r.status ?? 1);
  }
  const self = hostname();
  const config = parseAgentConfig(
    {
      strategy: 'home', home: { hosts: [self], helpers: [], high: 80, low: 50 }, sampleSeconds, cpuSource: 'procstat',
      hosts: [{ name: self, address: '127.0.0.1', fqdn: self, role: 'hypervisor' }],
      paths: { state: '/nonexistent/state.json', log: '/nonexistent/log', lock: '/nonexistent/lock' },
    },
    'bench',
  );
  const libvirt = createVirshLibvirt({ self, hosts: config.hosts, exec: runProcess });
  const files = createHostFiles(self, createPeers(self, config.hosts));
  const cpu0 = ownCpuMs() + childCpuMs();
  const t0 = performance.now();
  const collected = await collectSnapshot({ config, libvirt, files, clock: systemClock, drained: [] });
  const t1 = performance.now();
  const plan = decide(collected.snapshot, policyConfig(config.balancer, []), { hostUtilisation: new Map(), lastMigration: new Map() });
  const t2 = performance.now();
  const cpu = ownCpuMs() + childCpuMs() - cpu0;
  const host = collected.snapshot.hosts[0]!;
  console.log('One measure+decide cycle on this machine');
  console.log(`  libvirt: ${host.reachable ? `${LOCAL_LIBVIRT_URI}, ${collected.snapshot.vms.length} running VM(s): ${collected.snapshot.vms.map((v) => `${v.name}=${Math.round(v.cpuUsed)}%`).join(' ')}` : `not reachable (${collected.notes.join('; ')})`}`);
  console.log(`  host: ${host.reachable ? `CPU ${Math.round((host.cpuUsed / host.cpuCapacity) * 100)}% of ${host.cpuCapacity / 100} cores, ${Math.round(host.memAvailableMiB)} of ${Math.round(host.memTotalMiB)} MiB available` : 'unmeasured'}`);
  console.log(`  plan: ${plan.migrations.length} migration(s); ${plan.reasons[0] ?? ''}`);
  console.log(`  wall time: measure ${((t1 - t0) / 1000).toFixed(2)} s (window ${sampleSeconds} s) + decide ${(t2 - t1).toFixed(2)} ms`);
  console.log(`  CPU time: ${cpu.toFixed(0)} ms (this process and its virsh children)`);
  console.log(`  seed: ${SEED_SAMPLING_S} s of sampling per run (mpstat 1 59; virt-top -d 2 -n 27), four cron scripts: ${(SEED_SAMPLING_S / ((t1 - t0) / 1000)).toFixed(1)}x longer, a decision a minute late`);
}

/** Deterministic pseudo-random numbers (LCG), so every run benches the same cluster. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function syntheticCluster(hostCount: number, vmCount: number, homeCount: number): { snapshot: Snapshot; config: BalancerConfig } {
  const rnd = lcg(42);
  const hosts: HostState[] = [];
  const vms: VmState[] = [];
  const perHost = Math.ceil(vmCount / hostCount);
  for (let h = 0; h < hostCount; h++) {
    const name = `hv${String(h).padStart(4, '0')}`;
    const home = h < homeCount;
    let used = 0;
    let mem = 0;
    for (let i = 0; i < perHost && vms.length < vmCount; i++) {
      // Home hosts run hot (some above the threshold), helpers cool.
      const cpu = home ? 20 + rnd() * 80 : rnd() * 40;
      const memMiB = 512 + Math.floor(rnd() * 4) * 512;
      used += cpu;
      mem += memMiB;
      vms.push({ name: `vm${String(vms.length).padStart(5, '0')}`, host: name, home: home ? name : undefined, cpuUsed: cpu, memMiB, pinned: rnd() < 0.02 });
    }
    hosts.push({ name, reachable: rnd() > 0.01, drained: h === hostCount - 1, cpuCapacity: 3200, cpuPerCore: 100, cpuUsed: Math.min(3200, used + 50), memTotalMiB: 131072, memAvailableMiB: 131072 - mem - 2048 });
  }
  const config: BalancerConfig = {
    strategy: 'home',
    settings: { home: hosts.slice(0, homeCount).map((h) => h.name), helpers: [], high: 0.8, low: 0.5, overloadWindow: 2, calmWindow: 3, cooldown: 600 },
    maxMigrationsPerRun: 50, pinned: [], drained: [hosts[hostCount - 1]!.name],
  };
  return { snapshot: { time: 1_000_000, hosts, vms }, config };
}

function benchDecide(): void {
  console.log('\ndecide() on a synthetic cluster: 1,000 hosts, 20,000 VMs (target < 100 ms)');
  for (const homeCount of [1000, 100]) {
    const { snapshot, config } = syntheticCluster(1000, 20_000, homeCount);
    const hostUtilisation = new Map(snapshot.hosts.map((h) => [h.name, [0.9, 0.9, 0.9]] as const));
    const history = { hostUtilisation, lastMigration: new Map<string, number>() };
    const times: number[] = [];
    let plan = decide(snapshot, config, history);
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      plan = decide(snapshot, config, history);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    console.log(
      `  ${homeCount} home hosts: median ${median.toFixed(1)} ms, max ${times[times.length - 1]!.toFixed(1)} ms over ${times.length} runs; ` +
        `plan: ${plan.migrations.length} migrations, ${plan.reasons.length} reasons ${median < 100 ? '(under 100 ms)' : '(OVER 100 ms)'}`,
    );
  }
}

function benchConsolidateHistory(hostCount: number, vmCount: number, runs: number): void {
  console.log(`\nconsolidate with ${runs} runs of history per VM (an hour at one run a minute): ${hostCount} hypervisors, ${vmCount} VMs`);
  const { snapshot } = syntheticCluster(hostCount, vmCount, 0);
  const rnd = lcg(11);
  const vmCpu = new Map(snapshot.vms.map((v) => [v.name, Array.from({ length: runs }, () => Math.round(v.cpuUsed * (0.5 + rnd()) * 100) / 100)] as const));
  const hostUtilisation = new Map(snapshot.hosts.map((h) => [h.name, Array.from({ length: runs }, () => h.cpuUsed / h.cpuCapacity)] as const));
  const history = { hostUtilisation, lastMigration: new Map<string, number>(), vmCpu };
  const config: BalancerConfig = {
    strategy: 'consolidate',
    settings: { high: 0.9, low: 0.4, overloadWindow: 2, calmWindow: 2, cooldown: 600, cooldownMemory: 86_400, history: 3600 },
    maxMigrationsPerRun: 50, pinned: [], drained: [],
  };
  const median = (f: () => void): number => {
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      f();
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[3]!;
  };
  let moves = 0;
  const decideMs = median(() => {
    moves = decide(snapshot, config, history).migrations.length;
  });
  const state = { ...emptyState, vmCpu: Object.fromEntries(vmCpu), hostUtilisation: Object.fromEntries(hostUtilisation) };
  let text = '';
  const writeMs = median(() => {
    const next = nextState(state, snapshot.time, new Map([...hostUtilisation].map(([h, u]) => [h, u[0]!] as const)), new Map(), runs, { vmCpu: new Map(snapshot.vms.map((v) => [v.name, v.cpuUsed] as const)) });
    text = JSON.stringify(next);
  });
  const readMs = median(() => parseState(text));
  console.log(`  decide(): median ${decideMs.toFixed(0)} ms (${moves} migrations planned); state file ${(text.length / 1048576).toFixed(1)} MB: next state + JSON ${writeMs.toFixed(0)} ms, parse ${readMs.toFixed(0)} ms (medians of 7)`);
}

/** A vector answer in Prometheus' HTTP API format. */
function vector(at: number, series: { labels: Record<string, string>; value: number }[]): string {
  return JSON.stringify({ status: 'success', data: { resultType: 'vector', result: series.map((x) => ({ metric: x.labels, value: [at, String(x.value)] })) } });
}

async function benchPrometheus(hostCount: number, vmCount: number): Promise<void> {
  console.log(`\nOne collect+decide cycle through the Prometheus source: ${hostCount} hypervisors, ${vmCount} VMs (target < 1 s of CPU)`);
  const rnd = lcg(7);
  const now = Math.floor(Date.now() / 1000);
  const hosts = Array.from({ length: hostCount }, (_, i) => ({ name: `hv${String(i).padStart(3, '0')}`, address: `10.${Math.floor(i / 250)}.${i % 250}.1`, fqdn: `hv${String(i).padStart(3, '0')}.example`, role: 'hypervisor' as const }));
  const perHost = Math.ceil(vmCount / hostCount);
  const domains = new Map<string, DomainStats[]>();
  const vmSeries: { labels: Record<string, string>; value: number }[] = [];
  hosts.forEach((h, i) => {
    const list: DomainStats[] = [];
    for (let j = 0; j < perHost && i * perHost + j < vmCount; j++) {
      const name = `vm${String(i * perHost + j).padStart(5, '0')}`;
      list.push({ name, state: 1, cpuTimeNs: 1e12, balloonCurrentKiB: 1048576, balloonMaximumKiB: 1048576 });
      vmSeries.push({ labels: { domain: name, instance: `${h.address}:9177`, job: 'libvirt' }, value: rnd() * 0.8 });
    }
    domains.set(h.name, list);
  });
  const node = (value: (i: number) => number) => hosts.map((h, i) => ({ labels: { instance: `${h.address}:9100`, job: 'node' }, value: value(i) }));
  const q = promQueries(60);
  const answers: Record<string, string> = {
    [q.cpus!]: vector(now, node(() => 32)),
    [q.idle!]: vector(now, node((i) => (i < hostCount / 10 ? 4 : 20 + rnd() * 10))),
    [q.memTotal!]: vector(now, node(() => 137438953472)),
    [q.memAvailable!]: vector(now, node(() => 68719476736 + rnd() * 1e10)),
    [q.nodeAt!]: vector(now, node(() => now - 3)),
    [q.vmCpu!]: vector(now, vmSeries),
    [q.libvirtUp!]: vector(now, hosts.map((h) => ({ labels: { instance: `${h.address}:9177`, job: 'libvirt' }, value: 1 }))),
    [q.libvirtAt!]: vector(now, hosts.map((h) => ({ labels: { instance: `${h.address}:9177`, job: 'libvirt' }, value: now - 3 }))),
  };
  const dir = mkdtempSync(path.join(tmpdir(), 'hvmctl-bench-prom-'));
  writeFileSync(path.join(dir, 'answers.json'), JSON.stringify(answers));
  const bytes = Object.values(answers).reduce((n, a) => n + a.length, 0);
  const server = spawn(process.execPath, ['-e', `
    const answers = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
    const s = require('http').createServer((req, res) => {
      const body = answers[new URL(req.url, 'http://x').searchParams.get('query')];
      res.writeHead(body ? 200 : 400, { 'content-type': 'application/json' });
      res.end(body ?? JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'unknown query' }));
    });
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));`, path.join(dir, 'answers.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => server.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  try {
    const config = parseAgentConfig(
      {
        strategy: 'home', home: { hosts: hosts.slice(0, hostCount / 10).map((h) => h.name), helpers: hosts.slice(hostCount / 10).map((h) => h.name), high: 80, low: 50 },
        maxMigrationsPerRun: 50, cpuSource: 'prometheus', prometheus: { url: `http://127.0.0.1:${port}`, scrapers: ['127.0.0.1'] },
        hosts, paths: { state: '/nonexistent/state.json', log: '/nonexistent/log', lock: '/nonexistent/lock' },
      },
      'bench',
    );
    const libvirt = {
      domstats: async (host: string) => domains.get(host) ?? [],
      getMetadata: async (host: string) => ({ home: host }),
    } as unknown as Libvirt;
    const files = { read: async () => new Map() };
    const history = { hostUtilisation: new Map(hosts.map((h) => [h.name, [0.9, 0.9]] as const)), lastMigration: new Map<string, number>() };
    const runs: { cpu: number; wall: number; moves: number; measured: number }[] = [];
    for (let i = 0; i < 6; i++) {
      const cpu0 = ownCpuMs();
      const t0 = performance.now();
      const collected = await collectSnapshot({ config, libvirt, files, clock: systemClock, drained: [] });
      const plan = decide(collected.snapshot, policyConfig(config.balancer, []), history);
      runs.push({ cpu: ownCpuMs() - cpu0, wall: performance.now() - t0, moves: plan.migrations.length, measured: collected.snapshot.hosts.filter((h) => h.reachable).length });
    }
    const first = runs[0]!;
    const rest = runs.slice(1).sort((a, b) => a.cpu - b.cpu);
    const median = rest[Math.floor(rest.length / 2)]!;
    console.log(`  answers: ${(bytes / 1048576).toFixed(1)} MB of JSON over 8 queries; ${median.measured} of ${hostCount} hosts measured, ${median.moves} migrations planned`);
    console.log(`  first cycle: ${first.cpu.toFixed(0)} ms CPU, ${first.wall.toFixed(0)} ms wall (includes warming up the code)`);
    console.log(`  next ${rest.length}: median ${median.cpu.toFixed(0)} ms CPU, ${median.wall.toFixed(0)} ms wall; max ${rest[rest.length - 1]!.cpu.toFixed(0)} ms CPU ${Math.max(first.cpu, ...rest.map((r) => r.cpu)) < 1000 ? '(every cycle under 1 s of CPU)' : '(OVER 1 s of CPU)'}`);
  } finally {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--history')) {
  benchConsolidateHistory(200, 4000, 60);
} else {
  if (!process.argv.includes('--prometheus')) {
    await benchCycle();
    benchDecide();
    benchConsolidateHistory(200, 4000, 60);
  }
  await benchPrometheus(200, 4000);
}
