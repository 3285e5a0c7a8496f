// Yardstick 'thr-mmt' (replay only, not in the agent): CloudSim's THR-MMT (PowerVmAllocationPolicyMigrationStatic-
// Threshold + PowerVmSelectionPolicyMinimumMigrationTime), reproduced to
// validate the simulator against the published figures. Its details, kept:
//  - a host is overloaded when the REQUESTED CPU of its VMs exceeds `high` of
//    its capacity; VMs with the least memory leave first until it is not;
//  - the leaving VMs, biggest CPU first, go where the power increase is least
//    (power after = model(CPU allocated now + VM), before = model(CPU at
//    measurement)); a host is skipped when a VM's request exceeds one of its
//    cores, its free CPU or memory is short, or it would be overloaded after
//    (unless it runs nothing) or above 100 %;
//  - then every other active host, least utilised first (utilisation at
//    measurement), is emptied if ALL its VMs fit elsewhere (not on overloaded,
//    idle or already-emptied hosts); hosts that received such VMs are not
//    emptied later. As in CloudSim, hosts that received VMs from overloaded
//    hosts are not protected from being emptied.
// The round itself (selection, placement order, underload pass) is
// cloudsim-policy.ts; this file is its THR rules. No hysteresis, no cooldown.
import type { Budget } from '../policy/budget.ts';
import { pct } from '../policy/format.ts';
import type { Ledger } from '../policy/ledger.ts';
import { powerAt } from '../policy/power.ts';
import type { Strategy } from '../policy/strategy.ts';
import type { CommonConfig, History, Snapshot, VmState } from '../types.ts';
import { planCloudsimRound, type CloudsimRules, type HostSums } from './cloudsim-policy.ts';

export interface ThrMmtSettings {
  /** Static overload threshold on requested CPU, 0..1 (THR-MMT-0.8: 0.8). */
  readonly threshold: number;
}

export const thrMmtStrategy: Strategy<ThrMmtSettings> = {
  name: 'thr-mmt',
  summary: "CloudSim's THR-MMT: static threshold, least-memory VM first, least power increase",
  drainLimit: (s) => s.threshold,
  plan: ({ snapshot, settings, common, history, ledger, budget }) => planThrMmt(snapshot, settings, common, history, ledger, budget),
};

function powerIncrease(to: HostSums, vm: VmState): number {
  // Power after: the MIPS allocated now (VMs this plan already put there included), as
  // CloudSim 3.0.3's getUtilizationOfCpuMips(host); power before: at measurement.
  const cap = to.book.state.cpuCapacity;
  return powerAt(to.book.state.powerModel, (to.allocated + vm.cpuUsed) / cap, cap) - to.powerBefore;
}

export function thrMmtRules(threshold: number): CloudsimRules {
  const requested = (e: HostSums): number => e.requested / e.book.state.cpuCapacity;
  return {
    describe: (e) => `requests ${pct(requested(e))} > ${pct(threshold)}`,
    overloaded: (e) => requested(e) > threshold,
    // the threshold binds only on hosts that were busy at measurement
    accepts: (e, vm) => e.measured === 0 || (e.requested + vm.cpuUsed) / e.book.state.cpuCapacity <= threshold,
    better: (a, vm, b) => b === undefined || powerIncrease(a, vm) < powerIncrease(b, vm),
  };
}

export function planThrMmt(snapshot: Snapshot, settings: ThrMmtSettings, config: CommonConfig, history: History, ledger: Ledger, budget: Budget): void {
  planCloudsimRound(thrMmtRules(settings.threshold), snapshot, config, history, ledger, budget);
}
