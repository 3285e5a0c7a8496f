// collectSnapshot: measure every hypervisor and every VM over one short window,
// in one process. For each hypervisor, in parallel: host counters (/proc/stat
// or a cgroup's cpuacct.usage, /proc/meminfo) and `virsh domstats`; then, while
// the window runs, the balancer metadata of each VM; then the same counters a
// second time. A hypervisor that does not answer is `reachable: false`.
// With cpu_source `prometheus` (./prometheus.ts) libvirt is read once per host
// (where each VM runs, its memory and metadata) and the numbers come from
// Prometheus' rates over its own window: no waiting here. A host Prometheus
// has no fresh numbers for is `unmeasured`: it neither gives nor receives.
import type { HostState, Snapshot, VmState } from '../types.ts';
import type { AgentConfig } from '../config.ts';
import { homeHosts } from '../../src/inventory/types.ts';
import type { Clock } from '../clock.ts';
import type { HostFiles } from '../host-files.ts';
import type { Libvirt } from '../libvirt.ts';
import { cgroupCpuLimit, cpuDirFor, parseCpuacctUsage, parseCpuList } from './cgroup.ts';
import { DOMAIN_RUNNING, isActive, type DomainStats } from './domstats.ts';
import { parseMeminfo } from './meminfo.ts';
import { clamp01, parseProcStat, procStatUtilisation } from './proc-stat.ts';
import type { VmMetadata } from './vm-metadata.ts';
import { createPrometheusClient, measureWithPrometheus, type PromMeasurement, type PrometheusClient } from './prometheus.ts';

export interface CollectDeps {
  readonly config: AgentConfig;
  readonly libvirt: Libvirt;
  readonly files: HostFiles;
  readonly clock: Clock;
  /** Effective drained hosts (inventory default, then drain/undrain from the state file). */
  readonly drained: readonly string[];
  /** The Prometheus API (cpu_source `prometheus`); default: a client of balancer.prometheus.url. */
  readonly prometheus?: PrometheusClient;
}

export interface VmDetail {
  readonly name: string;
  readonly host: string;
  readonly running: boolean;
  readonly metadata: VmMetadata | undefined;
  /** Hosts with an active (running or paused) copy; more than one is a fault. */
  readonly copies: readonly string[];
}

export interface Collected {
  readonly snapshot: Snapshot;
  readonly vms: ReadonlyMap<string, VmDetail>;
  /** Per host, why it is unreachable. */
  readonly unreachable: ReadonlyMap<string, string>;
  /** Things a person should know (a VM running twice, metadata unreadable...). */
  readonly notes: readonly string[];
  /** Wall time of the whole collection, ms. */
  readonly elapsedMs: number;
}

interface HostSample {
  readonly files: Map<string, string | undefined>;
  readonly filesAt: number;
  readonly domains: DomainStats[];
  readonly domainsAt: number;
}

const PROC_STAT = '/proc/stat';
const MEMINFO = '/proc/meminfo';
const CPU_ONLINE = '/sys/devices/system/cpu/online';

/** Files to read on `host` for the configured CPU source. */
export function cpuSourceFiles(cpuSource: string, host: string): { paths: string[]; cgroupDir: string | undefined } {
  if (!cpuSource.startsWith('cgroup:')) return { paths: [PROC_STAT, MEMINFO], cgroupDir: undefined };
  const dir = cpuSource.slice('cgroup:'.length).replaceAll('{host}', host).replace(/\/$/, '');
  const cpuDir = cpuDirFor(dir);
  return {
    paths: [MEMINFO, CPU_ONLINE, `${dir}/cpuacct.usage`, `${cpuDir}/cpu.cfs_quota_us`, `${cpuDir}/cpu.cfs_period_us`],
    cgroupDir: dir,
  };
}

export async function collectSnapshot(deps: CollectDeps): Promise<Collected> {
  const { config, libvirt, files, clock } = deps;
  const started = clock.monotonicMs();
  const names = config.hosts.filter((h) => h.role === 'hypervisor').map((h) => h.name);
  const unreachable = new Map<string, string>();
  const notes: string[] = [];

  const fromPrometheus = config.balancer.cpuSource === 'prometheus';
  const sample = async (host: string): Promise<HostSample> => {
    const { paths } = cpuSourceFiles(config.balancer.cpuSource, host);
    const [f, d] = await Promise.all([
      fromPrometheus ? { m: new Map<string, string | undefined>(), at: clock.monotonicMs() } : files.read(host, paths).then((m) => ({ m, at: clock.monotonicMs() })),
      libvirt.domstats(host).then((s) => ({ s, at: clock.monotonicMs() })),
    ]);
    return { files: f.m, filesAt: f.at, domains: d.s, domainsAt: d.at };
  };
  // Each hypervisor on its own: first read, the window (its VMs' metadata read
  // meanwhile), second read. A slow or dead host delays nobody else.
  const first = new Map<string, HostSample>();
  const second = new Map<string, HostSample>();
  const metadata = new Map<string, VmMetadata | undefined>();
  const measure = async (host: string): Promise<void> => {
    const a = await sample(host);
    first.set(host, a);
    const readMetadata = Promise.all(
      a.domains
        .filter((d) => isActive(d.state))
        .map(async (d) => {
          try {
            metadata.set(`${host}/${d.name}`, await libvirt.getMetadata(host, d.name));
          } catch (error) {
            notes.push(`${d.name} on ${host}: metadata unreadable (${error instanceof Error ? error.message : String(error)})`);
          }
        }),
    );
    if (fromPrometheus) {
      await readMetadata;
      second.set(host, a);
      return;
    }
    await Promise.all([readMetadata, clock.sleep(config.balancer.sampleSeconds * 1000)]);
    second.set(host, await sample(host));
  };
  const results = await Promise.allSettled(names.map(measure));
  results.forEach((r, i) => {
    if (r.status === 'rejected') unreachable.set(names[i]!, r.reason instanceof Error ? r.reason.message : String(r.reason));
  });
  let prom: PromMeasurement | undefined;
  let promFailed: string | undefined;
  if (fromPrometheus) {
    const spec = config.balancer.prometheus!;
    const client = deps.prometheus ?? createPrometheusClient(spec.url!);
    const running = new Map([...second].map(([h, s]) => [h, s.domains.filter((d) => d.state === DOMAIN_RUNNING).map((d) => d.name)]));
    const promHosts = config.hosts.filter((h) => second.has(h.name));
    try {
      prom = await measureWithPrometheus(client, spec, promHosts, running, clock.nowMs() / 1000);
    } catch (error) {
      promFailed = `Prometheus did not answer: ${error instanceof Error ? error.message : String(error)}`;
      notes.push(promFailed);
    }
  }

  const hosts: HostState[] = [];
  for (const name of names) {
    const a = first.get(name);
    const b = second.get(name);
    const drained = deps.drained.includes(name);
    if (!a || !b) {
      hosts.push({ name, reachable: false, drained, cpuCapacity: 0, cpuUsed: 0, memTotalMiB: 0, memAvailableMiB: 0 });
      continue;
    }
    if (fromPrometheus) {
      const load = prom?.hosts.get(name);
      if (load === undefined || 'unknown' in load) {
        const why = load?.unknown ?? promFailed ?? 'no numbers from Prometheus';
        notes.push(`${name}: metrics unknown: ${why}`);
        hosts.push({ name, reachable: false, unmeasured: why, drained, cpuCapacity: 0, cpuUsed: 0, memTotalMiB: 0, memAvailableMiB: 0 });
      } else {
        hosts.push({ name, reachable: true, drained, cpuPerCore: 100, cpuCapacity: round(load.cpuCapacity), cpuUsed: round(load.cpuUsed), memTotalMiB: round(load.memTotalMiB), memAvailableMiB: round(load.memAvailableMiB) });
      }
      continue;
    }
    try {
      hosts.push({ name, reachable: true, drained, ...measureHost(config.balancer.cpuSource, name, a, b) });
    } catch (error) {
      unreachable.set(name, `cannot measure: ${error instanceof Error ? error.message : String(error)}`);
      hosts.push({ name, reachable: false, drained, cpuCapacity: 0, cpuUsed: 0, memTotalMiB: 0, memAvailableMiB: 0 });
    }
  }

  // Where each VM runs: every active copy on every reachable host.
  const copies = new Map<string, { host: string; running: boolean }[]>();
  for (const [host, s] of second) {
    if (unreachable.has(host)) continue;
    for (const d of s.domains) {
      if (!isActive(d.state)) continue;
      const list = copies.get(d.name) ?? [];
      list.push({ host, running: d.state === DOMAIN_RUNNING });
      copies.set(d.name, list);
    }
  }
  const vms: VmState[] = [];
  const details = new Map<string, VmDetail>();
  for (const [vm, list] of [...copies].sort(([x], [y]) => x.localeCompare(y))) {
    const running = list.filter((c) => c.running);
    const where = running[0] ?? list[0]!;
    if (list.length > 1) notes.push(`${vm} has ${list.length} active copies (${list.map((c) => `${c.host}${c.running ? '' : ' paused'}`).join(', ')}): treated as pinned until resolved`);
    const meta = metadata.get(`${where.host}/${vm}`);
    const home = meta?.home ?? (homeHosts(config.balancer).includes(where.host) ? where.host : undefined);
    const a = first.get(where.host)?.domains.find((d) => d.name === vm);
    const b = second.get(where.host)!.domains.find((d) => d.name === vm)!;
    const dtNs = (second.get(where.host)!.domainsAt - (first.get(where.host)?.domainsAt ?? 0)) * 1e6;
    const cpuUsed = fromPrometheus
      ? (prom?.vmCpu.get(where.host)?.get(vm) ?? 0)
      : a?.cpuTimeNs !== undefined && b.cpuTimeNs !== undefined && dtNs > 0 ? Math.max(0, ((b.cpuTimeNs - a.cpuTimeNs) / dtNs) * 100) : 0;
    const memKiB = b.balloonCurrentKiB ?? b.balloonMaximumKiB ?? 0;
    vms.push({
      name: vm,
      host: where.host,
      home,
      cpuUsed: round(cpuUsed),
      memMiB: round(memKiB / 1024),
      pinned: config.balancer.pinned.includes(vm) || list.length > 1,
    });
    details.set(vm, { name: vm, host: where.host, running: where.running, metadata: meta, copies: list.map((c) => c.host) });
  }
  for (const [host, why] of unreachable) notes.push(`${host} unreachable: ${why}`);
  return {
    snapshot: { time: Math.round(clock.nowMs() / 1000), hosts, vms },
    vms: details,
    unreachable,
    notes,
    elapsedMs: clock.monotonicMs() - started,
  };
}

function measureHost(
  cpuSource: string,
  host: string,
  a: HostSample,
  b: HostSample,
): Pick<HostState, 'cpuCapacity' | 'cpuUsed' | 'memTotalMiB' | 'memAvailableMiB' | 'cpuPerCore'> {
  const need = (s: HostSample, path: string): string => {
    const v = s.files.get(path);
    if (v === undefined) throw new Error(`${path} missing on ${host}`);
    return v;
  };
  const mem = parseMeminfo(need(b, MEMINFO));
  const { cgroupDir } = cpuSourceFiles(cpuSource, host);
  let capacity: number;
  let utilisation: number;
  if (cgroupDir === undefined) {
    const before = parseProcStat(need(a, PROC_STAT));
    const after = parseProcStat(need(b, PROC_STAT));
    capacity = after.cpus * 100;
    utilisation = procStatUtilisation(before, after);
  } else {
    const cpuDir = cpuDirFor(cgroupDir);
    const cpus = cgroupCpuLimit(b.files.get(`${cpuDir}/cpu.cfs_quota_us`), b.files.get(`${cpuDir}/cpu.cfs_period_us`), parseCpuList(need(b, CPU_ONLINE)));
    const usedNs = parseCpuacctUsage(need(b, `${cgroupDir}/cpuacct.usage`)) - parseCpuacctUsage(need(a, `${cgroupDir}/cpuacct.usage`));
    const elapsedNs = (b.filesAt - a.filesAt) * 1e6;
    capacity = cpus * 100;
    utilisation = elapsedNs > 0 ? clamp01(usedNs / (elapsedNs * cpus)) : 0;
  }
  return {
    cpuPerCore: 100,
    cpuCapacity: round(capacity),
    cpuUsed: round(utilisation * capacity),
    memTotalMiB: round(mem.totalKiB / 1024),
    memAvailableMiB: round(mem.availableKiB / 1024),
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Host utilisation 0..1 as the policy sees it. */
export function utilisationOf(h: HostState): number {
  return h.cpuCapacity > 0 ? h.cpuUsed / h.cpuCapacity : 0;
}
