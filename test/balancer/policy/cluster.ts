// A tiny cluster for policy tests: hosts and VMs from tables, one decide() per
// step, the plan applied as the executor would, history kept as the runtime does.
import { decide } from '../../../balancer/policy/decide.ts';
import type { ConsolidateSettings } from '../../../balancer/policy/consolidate.ts';
import type { HomeSettings } from '../../../balancer/policy/home.ts';
import type { BalancerConfig } from '../../../balancer/policy/strategies.ts';
import type { CommonConfig, HostState, Migration, Plan, Snapshot, VmState } from '../../../balancer/types.ts';
import type { Failures } from '../../../balancer/backoff.ts';

/** A strategy's settings and the common part written flat, as tests like to override them. */
export type Flat<S> = S & CommonConfig;

function split<S>(flat: Flat<S>): { settings: S; common: CommonConfig } {
  const { maxMigrationsPerRun, pinned, drained, memMarginMiB, ...settings } = flat;
  return { settings: settings as unknown as S, common: { maxMigrationsPerRun, pinned, drained, ...(memMarginMiB === undefined ? {} : { memMarginMiB }) } };
}

export function homeConfig(over: Partial<Flat<HomeSettings>> = {}): BalancerConfig {
  const { settings, common } = split<HomeSettings>({ ...seedFlat, ...over });
  return { ...common, strategy: 'home', settings };
}

export function consolidateConfig(flat: Flat<ConsolidateSettings>): BalancerConfig {
  const { settings, common } = split<ConsolidateSettings>(flat);
  return { ...common, strategy: 'consolidate', settings };
}

export const seedFlat: Flat<HomeSettings> = {
  home: ['kvmnode1'],
  helpers: ['kvmnode2', 'kvmnode3'],
  high: 0.8,
  low: 0.5,
  overloadWindow: 2,
  calmWindow: 3,
  cooldown: 300,
  maxMigrationsPerRun: 1,
  pinned: [],
  drained: [],
  memMarginMiB: 256,
};

export const seedConfig = homeConfig();

export interface HostSpec {
  name: string;
  capacity?: number;
  memTotal?: number;
  base?: number;
  reachable?: boolean;
  drained?: boolean;
}

export interface VmSpec {
  name: string;
  host: string;
  home?: string;
  mem?: number;
  pinned?: boolean;
}

export class Cluster {
  readonly where = new Map<string, string>();
  readonly history = new Map<string, number[]>();
  readonly vmHistory = new Map<string, number[]>();
  readonly lastMigration = new Map<string, number>();
  readonly moves: (Migration & { time: number })[] = [];
  time = 0;
  /** Failed migrations as the agent's state would hand them over (balancer/backoff.ts). */
  failures: Failures | undefined;

  constructor(
    readonly hosts: HostSpec[],
    readonly vms: VmSpec[],
    readonly config: BalancerConfig = seedConfig,
  ) {
    for (const vm of vms) this.where.set(vm.name, vm.host);
  }

  snapshot(load: Record<string, number>): Snapshot {
    const vms: VmState[] = this.vms.map((vm) => ({
      name: vm.name,
      host: this.where.get(vm.name) ?? vm.host,
      home: vm.home,
      cpuUsed: load[vm.name] ?? 0,
      memMiB: vm.mem ?? 1024,
      pinned: vm.pinned ?? false,
    }));
    const hosts: HostState[] = this.hosts.map((h) => {
      const mine = vms.filter((vm) => vm.host === h.name);
      const memTotal = h.memTotal ?? 8192;
      return {
        name: h.name,
        reachable: h.reachable ?? true,
        drained: h.drained ?? false,
        cpuCapacity: h.capacity ?? 200,
        cpuUsed: (h.base ?? 0) + mine.reduce((s, vm) => s + vm.cpuUsed, 0),
        memTotalMiB: memTotal,
        memAvailableMiB: memTotal - 512 - mine.reduce((s, vm) => s + vm.memMiB, 0),
      };
    });
    return { time: this.time, hosts, vms };
  }

  /** One run: measure, decide, apply, remember; the clock advances by `step` seconds. */
  step(load: Record<string, number>, step = 60): Plan {
    const snapshot = this.snapshot(load);
    const plan = decide(snapshot, this.config, {
      hostUtilisation: this.history,
      lastMigration: this.lastMigration,
      vmCpu: this.vmHistory,
      ...(this.failures ? { failures: this.failures } : {}),
    });
    for (const vm of snapshot.vms) {
      this.vmHistory.set(vm.name, [...(this.vmHistory.get(vm.name) ?? []), vm.cpuUsed].slice(-10));
    }
    for (const host of snapshot.hosts) {
      const past = this.history.get(host.name) ?? [];
      this.history.set(host.name, [...past, host.cpuUsed / host.cpuCapacity].slice(-10));
    }
    for (const m of plan.migrations) {
      this.where.set(m.vm, m.to);
      this.lastMigration.set(m.vm, this.time);
      this.moves.push({ ...m, time: this.time });
    }
    this.time += step;
    return plan;
  }
}

export const seedHosts: HostSpec[] = [{ name: 'kvmnode1' }, { name: 'kvmnode2' }, { name: 'kvmnode3' }];
export const seedVms: VmSpec[] = [
  { name: 'server1', host: 'kvmnode1', home: 'kvmnode1' },
  { name: 'server2', host: 'kvmnode1', home: 'kvmnode1' },
  { name: 'server3', host: 'kvmnode1', home: 'kvmnode1' },
];
