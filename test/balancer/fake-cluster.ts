// A fake cluster behind the Libvirt and HostFiles interfaces, driven by a fake
// clock: hosts with a CPU load and domains with a CPU share that advance their
// counters as the clock advances. Migrations move domains unless a test
// scripts a failure. Everything done to it is recorded.
import type { Clock } from '../../balancer/clock.ts';
import type { DomainStats } from '../../balancer/collect/domstats.ts';
import type { VmMetadata } from '../../balancer/collect/vm-metadata.ts';
import type { AgentConfig } from '../../balancer/config.ts';
import { parseAgentConfig } from '../../balancer/config.ts';
import type { HostFiles } from '../../balancer/host-files.ts';
import type { Libvirt, MigrateOutcome } from '../../balancer/libvirt.ts';
import { ConnectError } from '../../src/errors.ts';

export interface FakeDomain {
  state: number;
  /** state.reason (for paused: 2 = for a migration). */
  reason?: number;
  /** Defined persistently (default true). */
  persistent?: boolean;
  /** Fraction of one core it uses. */
  load: number;
  cpuTimeNs: number;
  memKiB: number;
  metadata: VmMetadata | undefined;
}

export interface FakeHost {
  cpus: number;
  /** Fraction of the whole host busy besides the guests. */
  baseLoad: number;
  busyJiffies: number;
  idleJiffies: number;
  memTotalKiB: number;
  memAvailableKiB: number;
  reachable: boolean;
  domains: Map<string, FakeDomain>;
  /** Domains with an active job (a migration libvirtd still drives). */
  jobs: Set<string>;
}

export type MigrationScript = (vm: string, from: string, to: string) => 'ok' | 'fail-paused' | 'fail' | 'timeout' | undefined;

export class FakeCluster implements Libvirt, HostFiles {
  readonly hosts = new Map<string, FakeHost>();
  readonly calls: string[] = [];
  now = 1_800_000_000_000;
  mono = 0;
  script: MigrationScript = () => 'ok';

  readonly clock: Clock = {
    nowMs: () => this.now,
    monotonicMs: () => this.mono,
    // Concurrent sleeps (one per host) overlap as real ones do: let every sleeper
    // register, then the first to wake moves the clock to its target.
    sleep: async (ms) => {
      const target = this.mono + ms;
      await new Promise((resolve) => setImmediate(resolve));
      if (this.mono < target) this.advance(target - this.mono);
    },
  };

  addHost(name: string, cpus = 2, memTotalMiB = 8192): this {
    this.hosts.set(name, {
      cpus, baseLoad: 0, busyJiffies: 1000, idleJiffies: 100000,
      memTotalKiB: memTotalMiB * 1024, memAvailableKiB: Math.round(memTotalMiB * 1024 * 0.8), reachable: true, domains: new Map(), jobs: new Set(),
    });
    return this;
  }

  addVm(host: string, name: string, load: number, home?: string, memMiB = 512): this {
    this.host(host).domains.set(name, { state: 1, load, cpuTimeNs: 1e9, memKiB: memMiB * 1024, metadata: home ? { home, moved: undefined, reason: undefined } : undefined });
    return this;
  }

  host(name: string): FakeHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no fake host ${name}`);
    return h;
  }

  /** Hosts where `vm` has a running copy. */
  runningOn(vm: string): string[] {
    return [...this.hosts].filter(([, h]) => h.domains.get(vm)?.state === 1).map(([n]) => n);
  }

  advance(ms: number): void {
    this.mono += ms;
    this.now += ms;
    for (const h of this.hosts.values()) {
      let busyCores = h.baseLoad * h.cpus;
      for (const d of h.domains.values()) {
        if (d.state !== 1) continue;
        d.cpuTimeNs += d.load * ms * 1e6;
        busyCores += d.load;
      }
      busyCores = Math.min(busyCores, h.cpus);
      const jiffies = (ms / 10) * h.cpus; // USER_HZ 100
      h.busyJiffies += Math.round((busyCores / h.cpus) * jiffies);
      h.idleJiffies += Math.round((1 - busyCores / h.cpus) * jiffies);
    }
  }

  private reach(host: string): FakeHost {
    const h = this.host(host);
    if (!h.reachable) throw new ConnectError(host, 'libvirt unreachable: Connection refused');
    return h;
  }

  // HostFiles
  async read(host: string, paths: readonly string[]): Promise<Map<string, string | undefined>> {
    this.calls.push(`read ${host}`);
    const h = this.reach(host);
    const out = new Map<string, string | undefined>();
    for (const p of paths) {
      if (p === '/proc/stat') {
        const cpuLines = Array.from({ length: h.cpus }, (_, i) => `cpu${i} 0 0 0 0 0 0 0 0 0 0`).join('\n');
        out.set(p, `cpu  ${h.busyJiffies} 0 0 ${h.idleJiffies} 0 0 0 0 0 0\n${cpuLines}\nintr 0\n`);
      } else if (p === '/proc/meminfo') {
        out.set(p, `MemTotal:       ${h.memTotalKiB} kB\nMemFree:        1 kB\nMemAvailable:   ${h.memAvailableKiB} kB\n`);
      } else out.set(p, undefined);
    }
    return out;
  }

  // Libvirt
  async domstats(host: string): Promise<DomainStats[]> {
    this.calls.push(`domstats ${host}`);
    const h = this.reach(host);
    return [...h.domains].map(([name, d]) => ({ name, state: d.state, reason: d.reason, cpuTimeNs: d.cpuTimeNs, balloonCurrentKiB: d.memKiB, balloonMaximumKiB: d.memKiB }));
  }
  async listRunning(host: string): Promise<string[]> {
    return [...this.reach(host).domains].filter(([, d]) => d.state === 1).map(([n]) => n);
  }
  async getMetadata(host: string, vm: string): Promise<VmMetadata | undefined> {
    return this.reach(host).domains.get(vm)?.metadata;
  }
  async setMetadata(host: string, vm: string, meta: VmMetadata): Promise<void> {
    this.calls.push(`setMetadata ${host} ${vm} home=${meta.home}`);
    const d = this.reach(host).domains.get(vm);
    if (!d) throw new Error(`no domain ${vm} on ${host}`);
    d.metadata = meta;
  }
  async migrate(vm: string, from: string, to: string, timeoutMs: number): Promise<MigrateOutcome> {
    this.calls.push(`migrate ${vm} ${from} ${to}`);
    const src = this.reach(from);
    const d = src.domains.get(vm);
    if (!d) return { ok: false, timedOut: false, error: `no domain ${vm}` };
    const what = this.script(vm, from, to) ?? 'ok';
    this.advance(what === 'timeout' ? timeoutMs : 7000);
    if (what === 'ok') {
      src.domains.delete(vm);
      this.reach(to).domains.set(vm, d);
      return { ok: true, timedOut: false, error: undefined };
    }
    if (what === 'fail-paused') Object.assign(d, { state: 3, reason: 2 }); // as libvirt leaves a source after a failed switch-over
    return { ok: false, timedOut: what === 'timeout', error: what === 'timeout' ? 'timed out' : 'error: operation failed: migration job: unexpectedly failed' };
  }
  async abortJob(host: string, vm: string): Promise<void> {
    this.calls.push(`abortJob ${host} ${vm}`);
    const h = this.reach(host);
    if (!h.jobs.delete(vm)) return;
    const d = h.domains.get(vm);
    if (d && d.state === 3 && d.reason === 2) Object.assign(d, { state: 1, reason: 1 }); // libvirt resumes a source whose migration it cancels
  }
  async jobActive(host: string, vm: string): Promise<boolean> {
    this.calls.push(`jobActive ${host} ${vm}`);
    return this.reach(host).jobs.has(vm);
  }
  async persistent(host: string, vm: string): Promise<boolean | undefined> {
    const d = this.reach(host).domains.get(vm);
    return d === undefined ? undefined : d.persistent !== false;
  }
  async undefine(host: string, vm: string): Promise<'removed' | 'absent'> {
    this.calls.push(`undefine ${host} ${vm}`);
    const h = this.reach(host);
    const d = h.domains.get(vm);
    if (d === undefined) return 'absent';
    if (d.state !== 5) throw new Error(`${vm} is active on ${host}`);
    h.domains.delete(vm);
    return 'removed';
  }
  async resume(host: string, vm: string): Promise<void> {
    this.calls.push(`resume ${host} ${vm}`);
    const d = this.reach(host).domains.get(vm);
    if (d) Object.assign(d, { state: 1, reason: 1 });
  }
  async destroy(host: string, vm: string): Promise<'stopped' | 'absent'> {
    this.calls.push(`destroy ${host} ${vm}`);
    const d = this.reach(host).domains.get(vm);
    if (d === undefined) return 'absent';
    if (d.persistent === false) this.host(host).domains.delete(vm);
    else Object.assign(d, { state: 5, reason: 1 });
    return 'stopped';
  }
}

export function seedConfig(dir: string, overrides: Record<string, unknown> = {}): AgentConfig {
  return parseAgentConfig(
    {
      strategy: 'home',
      home: { hosts: ['kvmnode1'], helpers: ['kvmnode2', 'kvmnode3'], high: 80, low: 50, overloadWindow: 2, calmWindow: 3, cooldown: 600 },
      maxMigrationsPerRun: 1, migrationTimeout: 120, sampleSeconds: 5, cpuSource: 'procstat', schedule: '* * * * *', pinned: [], drained: [],
      hosts: [
        { name: 'kvmstorage', address: '172.21.3.13', fqdn: 'kvmstorage.localdomain', role: 'storage' },
        { name: 'kvmnode1', address: '172.21.3.10', fqdn: 'kvmnode1.localdomain', role: 'hypervisor' },
        { name: 'kvmnode2', address: '172.21.3.11', fqdn: 'kvmnode2.localdomain', role: 'hypervisor' },
        { name: 'kvmnode3', address: '172.21.3.12', fqdn: 'kvmnode3.localdomain', role: 'hypervisor' },
      ],
      log: `${dir}/balancer.log`, state: `${dir}/state.json`, lock: `${dir}/balancer.lock`, drains: `${dir}/drains.json`,
      ...overrides,
    },
    `${dir}/balancer.json`,
  );
}

export function seedCluster(): FakeCluster {
  return new FakeCluster()
    .addHost('kvmnode1').addHost('kvmnode2').addHost('kvmnode3')
    .addVm('kvmnode1', 'server1', 0.6, 'kvmnode1')
    .addVm('kvmnode1', 'server2', 0.7, 'kvmnode1')
    .addVm('kvmnode1', 'server3', 0.5);
}
