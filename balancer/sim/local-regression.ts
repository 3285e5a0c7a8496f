// CloudSim's local-regression overload test (PowerVmAllocationPolicyMigration-
// LocalRegression, LR-1.2), for the yardsticks built on it (MFPED). A host's
// history is rebuilt from the VMs it holds now (PowerHostUtilizationHistory:
// each VM's past requests carried with it), newest first, oldest zeros
// trimmed. With 10 or more values: a straight line through the last 10
// (CloudSim's "Loess" ends as plain least squares: no weight is ever zero),
// extended past the longest migration of its VMs, times the safety parameter;
// overloaded at 1 or more. With fewer: the static fallback (70 % of requests).
import type { History, VmState } from '../types.ts';
import { MIGRATION_MB_PER_S } from './model.ts';

export interface LrSettings {
  /** LR-1.2: 1.2. */
  readonly safety: number;
  /** Static threshold while a host has under 10 values (CloudSim's runner: 0.7). */
  readonly fallback: number;
  /** Seconds between decisions (how far ahead a migration reaches). */
  readonly intervalS: number;
}

const LENGTH = 10;

/** The host's utilisation history (0..1 of `capacity`), newest first, now included. */
export function hostHistory(vms: readonly VmState[], history: History, capacity: number): number[] {
  const out: number[] = [];
  for (const vm of vms) {
    const past = history.vmCpu?.get(vm.name) ?? [];
    out[0] = (out[0] ?? 0) + vm.cpuUsed / capacity;
    for (let j = 1; j <= past.length; j++) out[j] = (out[j] ?? 0) + (past[past.length - j] as number) / capacity;
  }
  while (out.length > 0 && out[out.length - 1] === 0) out.pop();
  return out;
}

/** Least-squares line through y at x = 1..n: [intercept, slope]. */
export function lineThrough(y: readonly number[]): [number, number] {
  const n = y.length;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const x = i + 1;
    const v = y[i] as number;
    sx += x;
    sy += v;
    sxx += x * x;
    sxy += x * v;
  }
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return [(sy - slope * sx) / n, slope];
}

/** The predicted utilisation (safety applied), or undefined when the history is too short. */
export function lrPrediction(vms: readonly VmState[], history: History, capacity: number, s: LrSettings): number | undefined {
  const h = hostHistory(vms, history, capacity);
  if (h.length < LENGTH) return undefined;
  const y = h.slice(0, LENGTH).reverse();
  const [a, b] = lineThrough(y);
  let maxRam = 0;
  for (const vm of vms) maxRam = Math.max(maxRam, vm.memMiB);
  const intervals = Math.ceil(maxRam / MIGRATION_MB_PER_S / s.intervalS);
  return (a + b * (LENGTH + intervals)) * s.safety;
}

/** LR-1.2 with its fallback: is a host holding `vms` overloaded? */
export function lrOverloaded(vms: readonly VmState[], history: History, capacity: number, s: LrSettings): boolean {
  const p = lrPrediction(vms, history, capacity, s);
  if (p !== undefined) return p >= 1;
  let requested = 0;
  for (const vm of vms) requested += vm.cpuUsed;
  return requested / capacity > s.fallback;
}
