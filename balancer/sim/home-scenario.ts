// The seed's cluster shape on a real workload: one home hypervisor carrying
// N PlanetLab VMs for a day, plus two empty helpers of the same size, replayed
// at the balancer's own pace (one run a minute; the 5-minute samples are
// interpolated linearly, as CloudSim does). The home is sized by a rule, not
// per file: without balancing it is above OVERLOAD for `peakShare` of the day,
// its busiest minutes, whatever the day. VMs keep CloudSim's four types (MIPS
// and RAM by position in the day's file list); memory never refuses a move
// (every host has room for all of them), as the seed never checked it.
import { HOST_TYPES, INTERVAL, VM_MIPS, VM_RAM, vmType } from './model.ts';
import type { Trace } from './trace.ts';

/** "Overloaded": above the seed's maxhvm, which is also the inventory's default `high`. */
export const OVERLOAD = 0.8;
export const HOME = 'home';
export const HELPERS = ['helper1', 'helper2'] as const;

export interface HomeScenarioOptions {
  /** VMs on the home (default 20), taken evenly over the day's file list. */
  readonly vms?: number;
  /** Share of the day's minutes the unbalanced home spends above OVERLOAD (default 0.1). */
  readonly peakShare?: number;
  /** Seconds between balancer runs (default 60, the inventory's schedule). */
  readonly step?: number;
}

export interface HomeScenario {
  readonly trace: Trace;
  /** Indices into the trace of the home's VMs. */
  readonly vms: readonly number[];
  readonly mips: readonly number[];
  readonly ramMiB: readonly number[];
  /** Capacity of each of the three hosts (MIPS), and of one core (the G5's). */
  readonly capacity: number;
  readonly perCore: number;
  readonly memMiB: number;
  readonly step: number;
  /** Runs in the day. */
  readonly runs: number;
  readonly peakShare: number;
}

export function homeScenario(trace: Trace, options: HomeScenarioOptions = {}): HomeScenario {
  const n = trace.names.length;
  const count = Math.min(n, options.vms ?? 20);
  const stride = n / count;
  const vms = Array.from({ length: count }, (_, i) => Math.floor(i * stride));
  const mips = vms.map((v) => VM_MIPS[vmType(v, n)] as number);
  const ramMiB = vms.map((v) => VM_RAM[vmType(v, n)] as number);
  const step = options.step ?? 60;
  const runs = Math.floor(((trace.length - 1) * INTERVAL) / step) + 1;
  const peakShare = options.peakShare ?? 0.1;
  const partial = { trace, vms, mips, step };
  const demand = Array.from({ length: runs }, (_, k) => vms.reduce((s, _v, i) => s + vmDemand(partial, i, k * step), 0)).sort((a, b) => a - b);
  const atPeak = demand[Math.min(runs - 1, Math.floor(runs * (1 - peakShare)))] ?? 0;
  const perCore = (HOST_TYPES[1] as { mipsPerCore: number }).mipsPerCore;
  const capacity = Math.max(perCore, atPeak / OVERLOAD);
  const memMiB = ramMiB.reduce((s, r) => s + r, 0) + 1024;
  return { trace, vms, mips, ramMiB, capacity, perCore, memMiB, step, runs, peakShare };
}

/** Demand (MIPS) of the scenario's i-th VM at time t: linear between the 5-minute samples. */
export function vmDemand(s: Pick<HomeScenario, 'trace' | 'vms' | 'mips'>, i: number, t: number): number {
  const { trace } = s;
  const v = s.vms[i] as number;
  const L = trace.length;
  const x = t / INTERVAL;
  const k = Math.min(L - 1, Math.floor(x));
  const a = trace.samples[v * L + k] as number;
  const b = k + 1 < L ? (trace.samples[v * L + k + 1] as number) : a;
  return (a + (b - a) * (x - k)) * (s.mips[i] as number);
}
