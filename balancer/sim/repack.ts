// What the prediction alone allows, moves aside: at every decision of the day
// every VM is packed afresh onto the most efficient host type, best fit in
// decreasing order of its own mean + z σ, so that on each host the VMs' hour
// means plus z σ of their summed variances (the consolidate strategy's
// prediction, balancer/policy/consolidate.ts) stay within its capacity. Energy
// is counted as simulate.ts counts it between decisions; the moves are free
// and not counted. Best fit is a heuristic, so this is not a lower bound: it
// is the yardstick for "how many hosts does mean + z σ need", against which a
// strategy that pays for its moves can be read (bench/simulate.ts --repack).
import { Cluster } from './cluster.ts';
import { hostInstant } from './host-state.ts';
import { mostEfficient } from './lower-bound.ts';
import { energyJ, HOST_TYPES, INTERVAL } from './model.ts';
import type { Trace } from './trace.ts';

export interface RepackResult {
  /** kWh from the first decision (t = 300 s) to the end of the day. */
  readonly energyKWh: number;
  /** Hosts on, averaged over the decisions. */
  readonly meanHosts: number;
  /** Hosts on at each decision: [0] is the first (t = 300 s). */
  readonly hosts: readonly number[];
  /** Share of host-intervals whose VMs asked for more than the host has at the decision. */
  readonly overShare: number;
}

interface Bin {
  mean: number;
  variance: number;
  vms: number[];
}

/** Repack `trace` at every decision with z σ of head-room; `window` past measurements (the
 * simulator hands the strategies 12) plus now make each VM's mean and variance. VMs leave for
 * good as simulate.ts retires them (Cluster.idleAt). */
export function repack(trace: Trace, z: number, window = 12): RepackResult {
  const c = new Cluster(trace, 1);
  const type = mostEfficient(HOST_TYPES);
  const capacity = type.cores * type.mipsPerCore;
  const alive = new Uint8Array(c.vmCount).fill(1);
  let joules = 0;
  const hosts: number[] = [];
  let hostIntervals = 0;
  let over = 0;
  for (let k = 1; k < trace.length; k++) {
    const items: { v: number; mean: number; variance: number; peak: number }[] = [];
    for (let v = 0; v < c.vmCount; v++) {
      if (!alive[v]) continue;
      if (c.idleAt(v, k)) {
        alive[v] = 0;
        continue;
      }
      let sum = 0;
      let sq = 0;
      let n = 0;
      for (let j = Math.max(0, k - window); j <= k; j++) {
        const d = c.demand(v, j * INTERVAL);
        sum += d;
        sq += d * d;
        n += 1;
      }
      const mean = sum / n;
      const variance = Math.max(0, sq / n - mean * mean);
      items.push({ v, mean, variance, peak: mean + z * Math.sqrt(variance) });
    }
    items.sort((a, b) => b.peak - a.peak);
    const bins: Bin[] = [];
    for (const it of items) {
      let best: Bin | undefined;
      let bestFill = -1;
      for (const b of bins) {
        const fill = b.mean + it.mean + z * Math.sqrt(b.variance + it.variance);
        if (fill <= capacity && fill > bestFill) {
          bestFill = fill;
          best = b;
        }
      }
      if (best) {
        best.mean += it.mean;
        best.variance += it.variance;
        best.vms.push(it.v);
      } else bins.push({ mean: it.mean, variance: it.variance, vms: [it.v] });
    }
    const t = k * INTERVAL;
    for (const b of bins) {
      const at = (time: number) => hostInstant(b.vms.map((v) => ({ request: c.demand(v, time), share: 1 })), capacity, type.mipsPerCore);
      const now = at(t);
      const then = at(t + INTERVAL);
      joules += energyJ(type.power, Math.min(1, now.used / capacity), Math.min(1, then.used / capacity), INTERVAL);
      if (now.used > 0) {
        hostIntervals += 1;
        if (now.used < now.requested) over += 1;
      }
    }
    hosts.push(bins.length);
  }
  return {
    energyKWh: joules / 3_600_000,
    meanHosts: hosts.reduce((a, b) => a + b, 0) / Math.max(1, hosts.length),
    hosts,
    overShare: hostIntervals > 0 ? over / hostIntervals : 0,
  };
}
