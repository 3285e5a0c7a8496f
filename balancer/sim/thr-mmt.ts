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
// No hysteresis, no cooldown: this is the yardstick, not our policy.
import type { Budget } from '../policy/budget.ts';
import { cannotMove, cannotReceive, memMargin } from '../policy/eligibility.ts';
import { pct } from '../policy/format.ts';
import type { HostBook, Ledger } from '../policy/ledger.ts';
import { powerAt } from '../policy/power.ts';
import type { Strategy } from '../policy/strategy.ts';
import type { CommonConfig, History, Snapshot, VmState } from '../types.ts';

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

interface Extra {
  readonly book: HostBook;
  /** Allocated CPU at measurement (requests capped per core and by capacity). */
  readonly measured: number;
  /** Allocated CPU now, as the plan changes it. */
  allocated: number;
  /** Requested CPU now, as the plan changes it. */
  requested: number;
  readonly powerBefore: number;
}

function allocatedOf(vms: readonly VmState[], book: HostBook): number {
  const core = book.state.cpuPerCore ?? Infinity;
  let sum = 0;
  for (const vm of vms) sum += Math.min(vm.cpuUsed, core);
  return Math.min(sum, book.state.cpuCapacity);
}

export function planThrMmt(snapshot: Snapshot, settings: ThrMmtSettings, config: CommonConfig, history: History, ledger: Ledger, budget: Budget): void {
  const threshold = settings.threshold;
  const extras = new Map<HostBook, Extra>();
  for (const book of ledger.order) {
    const measured = allocatedOf(book.vms, book);
    let requested = 0;
    for (const vm of book.vms) requested += vm.cpuUsed;
    const cap = book.state.cpuCapacity;
    extras.set(book, {
      book,
      measured,
      allocated: measured,
      requested,
      powerBefore: powerAt(book.state.powerModel, cap > 0 ? measured / cap : 0, cap),
    });
  }
  const ex = (b: HostBook): Extra => extras.get(b) as Extra;
  const overloaded = (b: HostBook): boolean => b.state.cpuCapacity > 0 && ex(b).requested / b.state.cpuCapacity > threshold;
  const usable = (b: HostBook): boolean => cannotReceive(b, config) === undefined;
  const movable = (vm: VmState): boolean => cannotMove(vm, config, 0, history, snapshot.time, new Set()) === undefined;

  // 1. overloaded hosts and the VMs (least memory first) that leave them
  const over = ledger.order.filter((b) => usable(b) && overloaded(b));
  const leaving: { vm: VmState; from: HostBook }[] = [];
  for (const book of over) {
    const candidates = book.vms.filter(movable);
    while (candidates.length > 0) {
      let best = 0;
      for (let i = 1; i < candidates.length; i++) {
        if ((candidates[i] as VmState).memMiB < (candidates[best] as VmState).memMiB) best = i;
      }
      const vm = candidates.splice(best, 1)[0] as VmState;
      leaving.push({ vm, from: book });
      ex(book).requested -= vm.cpuUsed;
      if (!overloaded(book)) break;
    }
    if (book.vms.length > 0 && candidates.length === book.vms.length) {
      ledger.reasons.push(`${book.state.name} is overloaded but none of its VMs may move`);
    }
  }
  // Detach them (CloudSim's vmDestroy), then place biggest CPU first.
  const gone = new Set(leaving.map((l) => l.vm));
  for (const book of over) ex(book).allocated = allocatedOf(book.vms.filter((v) => !gone.has(v)), book);
  const overSet = new Set(over);
  const sorted = [...leaving].sort((a, b) => b.vm.cpuUsed - a.vm.cpuUsed);
  let unplaced = 0;
  for (const { vm, from } of sorted) {
    if (budget.left === 0) {
      budget.take();
      break;
    }
    const to = findHost(vm, overSet);
    if (!to) {
      unplaced += 1;
      continue;
    }
    if (!budget.take()) break;
    const before = from.state.cpuCapacity > 0 ? from.state.cpuUsed / from.state.cpuCapacity : 0;
    place(vm, from, to, 'migrate', `${from.state.name} requests ${pct(before)} > ${pct(threshold)}; ${vm.name} has the least memory (${vm.memMiB} MiB)`);
  }
  if (unplaced > 0) ledger.reasons.push(`${unplaced} VM(s) from overloaded hosts found no host: they stay`);

  // 2. underloaded hosts, least utilised first, emptied when all their VMs fit
  const idle = (b: HostBook): boolean => ex(b).measured <= 0;
  const excludedPlacement = new Set<HostBook>([...over, ...ledger.order.filter((b) => idle(b) || !usable(b))]);
  const excludedUnder = new Set<HostBook>(excludedPlacement);
  const byUtil = ledger.order
    .filter((b) => !excludedUnder.has(b) && b.state.cpuCapacity > 0 && ex(b).measured / b.state.cpuCapacity < 1)
    .sort((a, b) => ex(a).measured / a.state.cpuCapacity - ex(b).measured / b.state.cpuCapacity);
  let emptied = 0;
  for (const host of byUtil) {
    if (budget.left === 0) break;
    if (excludedUnder.has(host)) continue;
    excludedUnder.add(host);
    excludedPlacement.add(host);
    const vms = host.vms.filter(movable);
    if (vms.length === 0 || vms.length < host.vms.length) continue;
    const order = [...vms].sort((a, b) => b.cpuUsed - a.cpuUsed);
    const planned: { vm: VmState; to: HostBook }[] = [];
    for (const vm of order) {
      const to = findHost(vm, excludedPlacement);
      if (!to) break;
      planned.push({ vm, to });
      attach(vm, to);
    }
    if (planned.length < order.length) {
      for (const { vm, to } of planned) detach(vm, to);
      continue;
    }
    for (const { vm, to } of planned) detach(vm, to);
    if (budget.left < planned.length) {
      budget.take();
      continue;
    }
    const util = ex(host).measured / host.state.cpuCapacity;
    for (const { vm, to } of planned) {
      place(vm, host, to, 'consolidate', `${host.state.name} is the least utilised host left (${pct(util)}): emptied so it can switch off`);
      excludedUnder.add(to);
    }
    emptied += 1;
  }
  if (ledger.migrations.length === 0) {
    ledger.reasons.push(`no host above ${pct(threshold)} and no underloaded host could be emptied`);
  } else if (emptied === 0) {
    ledger.reasons.push('no underloaded host could be emptied');
  }

  function attach(vm: VmState, to: HostBook): void {
    const e = ex(to);
    e.requested += vm.cpuUsed;
    e.allocated = Math.min(to.state.cpuCapacity, e.allocated + Math.min(vm.cpuUsed, to.state.cpuPerCore ?? Infinity));
    to.mem -= vm.memMiB;
  }
  function detach(vm: VmState, to: HostBook): void {
    const e = ex(to);
    e.requested -= vm.cpuUsed;
    e.allocated -= Math.min(vm.cpuUsed, to.state.cpuPerCore ?? Infinity);
    to.mem += vm.memMiB;
  }
  function place(vm: VmState, from: HostBook, to: HostBook, kind: 'migrate' | 'consolidate', why: string): void {
    const cap = to.state.cpuCapacity;
    const after = (ex(to).requested + vm.cpuUsed) / cap;
    ledger.move(vm, from, to, {
      vm: vm.name,
      from: from.state.name,
      to: to.state.name,
      kind,
      reason: `${why}; ${to.state.name} costs the least extra power (${pct(after)} after)`,
      fallbacks: [],
    });
    // ledger.move changed cpu/mem; keep our running sums in step.
    const e = ex(to);
    e.requested += vm.cpuUsed;
    e.allocated = Math.min(cap, e.allocated + Math.min(vm.cpuUsed, to.state.cpuPerCore ?? Infinity));
  }
  function findHost(vm: VmState, excluded: ReadonlySet<HostBook>): HostBook | undefined {
    let best: HostBook | undefined;
    let bestDiff = Infinity;
    const margin = memMargin(config);
    for (const b of ledger.order) {
      if (excluded.has(b) || b.state.name === vm.host) continue;
      const e = ex(b);
      const cap = b.state.cpuCapacity;
      if (cap <= 0 || !usable(b)) continue;
      if (vm.cpuUsed > (b.state.cpuPerCore ?? Infinity)) continue;
      if (cap - e.allocated < vm.cpuUsed) continue;
      if (b.mem - margin < vm.memMiB) continue;
      if (e.measured !== 0 && (e.requested + vm.cpuUsed) / cap > threshold) continue;
      // Power after: the MIPS allocated now (VMs this plan already put there included), as
      // CloudSim 3.0.3's getUtilizationOfCpuMips(host); power before: at measurement.
      const potential = (e.allocated + vm.cpuUsed) / cap;
      if (potential > 1) continue;
      const diff = powerAt(b.state.powerModel, potential, cap) - e.powerBefore;
      if (diff < bestDiff) {
        bestDiff = diff;
        best = b;
      }
    }
    return best;
  }
}
