// CloudSim's migration round (PowerVmAllocationPolicyMigrationAbstract.
// optimizeAllocation), shared by the yardsticks that extend it (THR-MMT,
// MFPED): they differ only in when a host is overloaded and where a VM goes
// (CloudsimRules). Kept from CloudSim, on purpose:
//  - overloaded hosts give up VMs with the least memory first (MMT) until the
//    rule no longer calls them overloaded;
//  - the leaving VMs, biggest CPU first, go where rules.findHost says, never
//    to an overloaded host;
//  - then every other active host, least utilised first (at measurement), is
//    emptied if ALL its VMs fit elsewhere (not on overloaded, idle or already
//    emptied hosts); hosts that received such VMs are not emptied later; as in
//    CloudSim, destinations of overload moves are not protected.
// No hysteresis, no cooldown: these are yardsticks, not our strategies.
import type { Budget } from '../policy/budget.ts';
import { cannotMove, cannotReceive, memMargin } from '../policy/eligibility.ts';
import { pct } from '../policy/format.ts';
import type { HostBook, Ledger } from '../policy/ledger.ts';
import { powerAt } from '../policy/power.ts';
import type { CommonConfig, History, Snapshot, VmState } from '../types.ts';

/** A host's running sums while the round is planned. */
export interface HostSums {
  readonly book: HostBook;
  /** Allocated CPU at measurement (requests capped per core and by capacity). */
  readonly measured: number;
  /** Allocated CPU now, as the plan changes it. */
  allocated: number;
  /** Requested CPU now, as the plan changes it. */
  requested: number;
  readonly powerBefore: number;
  /** The VMs on it now, as the plan changes them (CloudSim's guest list). */
  readonly vms: VmState[];
}

export interface CloudsimRules {
  /** What the plan's reasons call the rule, e.g. "requests 93 % > 80 %". */
  describe(sums: HostSums): string;
  /** Whether the host is overloaded with the VMs it holds now (sums.vms). */
  overloaded(sums: HostSums): boolean;
  /** Whether `to` may take `vm` (beyond the capacity checks every policy makes). */
  accepts(to: HostSums, vm: VmState): boolean;
  /** Of two acceptable hosts, whether `a` is better than the best so far `b` (undefined: none yet). */
  better(a: HostSums, vm: VmState, b: HostSums | undefined): boolean;
}

export function allocatedOf(vms: readonly VmState[], book: HostBook): number {
  const core = book.state.cpuPerCore ?? Infinity;
  let sum = 0;
  for (const vm of vms) sum += Math.min(vm.cpuUsed, core);
  return Math.min(sum, book.state.cpuCapacity);
}

export function planCloudsimRound(
  rules: CloudsimRules,
  snapshot: Snapshot,
  config: CommonConfig,
  history: History,
  ledger: Ledger,
  budget: Budget,
): void {
  const sums = new Map<HostBook, HostSums>();
  for (const book of ledger.order) {
    const measured = allocatedOf(book.vms, book);
    let requested = 0;
    for (const vm of book.vms) requested += vm.cpuUsed;
    const cap = book.state.cpuCapacity;
    sums.set(book, {
      book,
      measured,
      allocated: measured,
      requested,
      powerBefore: powerAt(book.state.powerModel, cap > 0 ? measured / cap : 0, cap),
      vms: [...book.vms],
    });
  }
  const ex = (b: HostBook): HostSums => sums.get(b) as HostSums;
  const usable = (b: HostBook): boolean => cannotReceive(b, config) === undefined;
  const movable = (vm: VmState): boolean => cannotMove(vm, config, 0, history, snapshot.time, new Set()) === undefined;

  // 1. overloaded hosts and the VMs (least memory first) that leave them
  const over = ledger.order.filter((b) => usable(b) && b.state.cpuCapacity > 0 && rules.overloaded(ex(b)));
  const said = new Map(over.map((b) => [b, rules.describe(ex(b))]));
  const leaving: { vm: VmState; from: HostBook }[] = [];
  for (const book of over) {
    const candidates = book.vms.filter(movable);
    const before = candidates.length;
    while (candidates.length > 0) {
      let best = 0;
      for (let i = 1; i < candidates.length; i++) {
        if ((candidates[i] as VmState).memMiB < (candidates[best] as VmState).memMiB) best = i;
      }
      const vm = candidates.splice(best, 1)[0] as VmState;
      leaving.push({ vm, from: book });
      release(vm, book);
      if (!rules.overloaded(ex(book))) break;
    }
    if (book.vms.length > 0 && before === 0) ledger.reasons.push(`${book.state.name} is overloaded but none of its VMs may move`);
  }
  // Detached (CloudSim's vmDestroy); place biggest CPU first.
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
    place(vm, from, to, 'migrate', `${from.state.name} ${said.get(from) ?? 'overloaded'}; ${vm.name} has the least memory (${vm.memMiB} MiB)`);
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
    for (const { vm, to } of planned) detach(vm, to);
    if (planned.length < order.length) continue;
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
    ledger.reasons.push('no host overloaded and no underloaded host could be emptied');
  } else if (emptied === 0) {
    ledger.reasons.push('no underloaded host could be emptied');
  }

  function attach(vm: VmState, to: HostBook): void {
    const e = ex(to);
    e.requested += vm.cpuUsed;
    e.allocated = Math.min(to.state.cpuCapacity, e.allocated + Math.min(vm.cpuUsed, to.state.cpuPerCore ?? Infinity));
    e.vms.push(vm);
    to.mem -= vm.memMiB;
  }
  /** CloudSim's vmDestroy while VMs are selected: the CPU is freed (the memory is freed by the move). */
  function release(vm: VmState, from: HostBook): void {
    const e = ex(from);
    e.requested -= vm.cpuUsed;
    const at = e.vms.indexOf(vm);
    if (at >= 0) e.vms.splice(at, 1);
    e.allocated = allocatedOf(e.vms, from);
  }
  /** Undoes a trial attach. */
  function detach(vm: VmState, from: HostBook): void {
    release(vm, from);
    from.mem += vm.memMiB;
  }
  function place(vm: VmState, from: HostBook, to: HostBook, kind: 'migrate' | 'consolidate', why: string): void {
    const cap = to.state.cpuCapacity;
    const after = (ex(to).requested + vm.cpuUsed) / cap;
    // ledger.move changes cpu/mem; the sums follow the same VM.
    ledger.move(vm, from, to, { vm: vm.name, from: from.state.name, to: to.state.name, kind, reason: `${why}; ${to.state.name} chosen (${pct(after)} after)`, fallbacks: [] });
    const e = ex(to);
    e.requested += vm.cpuUsed;
    e.allocated = Math.min(cap, e.allocated + Math.min(vm.cpuUsed, to.state.cpuPerCore ?? Infinity));
    e.vms.push(vm);
    if (kind === 'consolidate') {
      const f = ex(from);
      const at = f.vms.indexOf(vm);
      if (at >= 0) f.vms.splice(at, 1);
    }
  }
  function findHost(vm: VmState, excluded: ReadonlySet<HostBook>): HostBook | undefined {
    let best: HostSums | undefined;
    const margin = memMargin(config);
    for (const b of ledger.order) {
      if (excluded.has(b) || b.state.name === vm.host) continue;
      const e = ex(b);
      const cap = b.state.cpuCapacity;
      if (cap <= 0 || !usable(b)) continue;
      if (vm.cpuUsed > (b.state.cpuPerCore ?? Infinity)) continue;
      if (cap - e.allocated < vm.cpuUsed) continue;
      if (b.mem - margin < vm.memMiB) continue;
      if ((e.allocated + vm.cpuUsed) / cap > 1) continue;
      if (!rules.accepts(e, vm)) continue;
      if (rules.better(e, vm, best)) best = e;
    }
    return best?.book;
  }
}
