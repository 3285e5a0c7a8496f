// Strategy 'consolidate': equal hypervisors, no homes. Keep every
// host under `high` by prediction, and empty the hosts that are not needed
// so they can switch off (the agent only reports them: Plan.emptied).
//  - The load model. A VM's CPU is a slowly moving level plus noise that is
//    new at every measurement: on PlanetLab the mean of the last hour predicts
//    the next 5 to 60 minutes better than the last value, the last three, an
//    EWMA or the median (root-mean-square error 142 MIPS against 193, 157,
//    148, 147 on 20110303), and its error is about the hour's standard
//    deviation. So each VM is summarised over its whole history (+ now) as
//    mean and variance, and a host's prediction is the sum of its VMs' means
//    plus SPREAD (2) times the square root of the summed variances
//    (independent noise partly cancels). A host filled to `high` by
//    prediction passes `high` at about one measurement in 44. A longer window
//    loses (two hours: the level drifts, +1 kWh a day on the replay); a
//    smaller spread packs tighter but every measurement that passes capacity
//    costs a relief move and two migrations' worth of violation. On the
//    replay as CloudSim counts (balancer/sim/README.md) 1.75 σ draws 2.0 /
//    1.4 kWh less than 2 σ on the two days but needs 1,950 / 1,685
//    migrations (a fifth of MFPED's is 2,060 / 1,511); repacking every VM at
//    every decision for free needs 116.04 kWh at 2 σ on 20110303
//    (bench/simulate.ts --repack), where this strategy draws 117.69: it keeps
//    0.4-0.6 hosts more than the repack.
//  - `high` is the share of a host's CPU its VMs may be predicted to use. The
//    inventory's 90 % leaves the hypervisor's own CPU on a real host; CloudSim's
//    hosts run nothing but their VMs, so the replay uses 100 %
//    (balancer/sim/config.ts).
//  - Overloaded: predicted above `high` AND measured above `high` for the last
//    `overloadWindow` measurements of the VMs it holds now, or saturated now
//    (a request beyond a core or the whole host). A saturated host sheds the
//    least-memory VM (quickest move) that alone brings it under `high` as
//    measured now, else its biggest; a sustained one until its prediction is
//    under `high`.
//  - Placement (power-aware best fit): the active host that ends up fullest
//    while its prediction stays under `high` and each VM's peak fits a core;
//    only when none can, a switched-off host (the largest first).
//  - Emptying, when ALL of a host's VMs fit on other active hosts (kind
//    'consolidate'): a calm host (measured under `low` for `calmWindow`
//    measurements and predicted under it) always; any other host only when,
//    without it, the active hosts' predictions plus the biggest VM's peak stay
//    under `high` × their capacity: the room one relief needs, kept between
//    the hosts, not on one of them (asking one host to hold the biggest VM
//    kept 40 hosts on through an evening whose demand fell by a fifth, and
//    cost 3.3 / 2.4 kWh on the replay's two days). Hosts that draw most idle
//    watts per unit of capacity go first, then those with fewest VMs (fewest
//    moves). A host that received VMs is not emptied this run.
//  - A VM that moved waits `cooldown`, doubled per relief (a move off an
//    overloaded host) within `cooldownMemory` beyond the first, so nothing bounces. The base
//    is short (10 min by default): a host holding one cooling VM cannot be
//    emptied, and with a 1 h base 33 of the 38 active hosts held one at any
//    time on 20110303 (16 with 10 min, for 0.8 / 1.3 kWh less); the doubling
//    holds back a VM whose load keeps getting it moved. A move that emptied a
//    host says nothing about the VM's load and is not counted: counting every
//    move held VMs moved twice since midnight (the first hour's forced move
//    and one more) for 20 minutes, and so their hosts on (emptyings refused
//    for a cooling VM: 265 and 225 on the replay's two days, 105 and 66 now;
//    117.76 / 90.02 kWh with 1,818 / 1,468 migrations, now 117.69 / 89.79
//    with 1,727 / 1,407).
// Needs History.vmCpu: without per-VM history only saturated hosts are relieved
// and nothing is consolidated (the windows cannot be checked).
import type { CommonConfig, History, MigrationKind, Snapshot, VmState } from '../types.ts';
import type { Budget } from './budget.ts';
import { cannotMove, cannotReceive, memMargin } from './eligibility.ts';
import { pct } from './format.ts';
import { powerAt } from './power.ts';
import type { HostBook, Ledger } from './ledger.ts';
import type { Strategy } from './strategy.ts';

export interface ConsolidateSettings {
  /** Utilisation thresholds, 0..1. */
  readonly high: number;
  readonly low: number;
  /** Measurements (runs). */
  readonly overloadWindow: number;
  readonly calmWindow: number;
  /** Seconds a VM stays where it is after it moved... */
  readonly cooldown: number;
  /** ...doubled for each time within this many seconds it was moved off an overloaded host, beyond
   * the first (0: a fixed cooldown). A VM whose load keeps getting it moved is held longer; one that moved
   * once, or only to empty hosts, is free again after `cooldown`. */
  readonly cooldownMemory?: number;
  /** Standard deviations of head-room a host's prediction keeps (default SPREAD: 2). Not in the
   * inventory: a replay knob (bench/simulate.ts --consolidate-sweep). */
  readonly spread?: number;
  /** Seconds of per-VM measurements the predictions are taken over: the agent keeps that many
   * seconds of runs (src/inventory/types.ts runsKept) and the replay hands over as many
   * (balancer/sim/simulate.ts). The plan itself uses whatever history it is given. */
  readonly history?: number;
}

/** The moves a growing cooldown counts: those that relieved an overloaded host. A move that
 * emptied a host ('consolidate') or drained one says nothing about the VM's own load, and
 * counting it held back VMs whose hosts could otherwise be emptied (balancer/sim/README.md). */
export const countsTowardCooldown = (kind: MigrationKind): boolean => kind === 'migrate';

/** The cooldown that holds `vm` now: the base, doubled per recent relief beyond the first (at most 2^6). */
export function cooldownOf(vm: string, s: ConsolidateSettings, history: History, now: number): number {
  const memory = s.cooldownMemory ?? 0;
  if (memory <= 0) return s.cooldown;
  const recent = (history.reliefs?.get(vm) ?? []).filter((t) => now - t < memory).length;
  return s.cooldown * 2 ** Math.min(6, Math.max(0, recent - 1));
}

export const consolidateStrategy: Strategy<ConsolidateSettings> = {
  name: 'consolidate',
  summary: 'keep every host under high by prediction, empty hosts that stay under low so they can switch off',
  drainLimit: (s) => s.high,
  plan: ({ snapshot, settings, common, history, ledger, budget }) => planConsolidation(snapshot, { ...common, ...settings }, history, ledger, budget),
};

type Config = ConsolidateSettings & CommonConfig;

interface Load {
  mean: number;
  variance: number;
  peak: number;
}

/** How many standard deviations of head-room a prediction keeps: a host filled to `high` by
 * prediction passes it at about one measurement in 44 (the one-sided normal tail beyond 2 σ). */
export const SPREAD = 2;

/** Watts a host draws idle per unit of capacity: the hosts that cost most to keep on are emptied first. */
const idlePerCapacity = (b: HostBook): number => powerAt(b.state.powerModel, 0, b.state.cpuCapacity) / b.state.cpuCapacity;

export function planConsolidation(snapshot: Snapshot, config: Config, history: History, ledger: Ledger, budget: Budget): void {
  // Predictions use the whole history handed over (`history` seconds: an hour by default, in
  // the agent as in the replay), not just the trigger windows: a host that was hot within the
  // hour keeps a wide spread, so it is neither emptied nor filled on a short calm spell.
  const vmLoad = new Map<string, Load>();
  const vmPast = new Map<string, readonly number[]>();
  for (const vm of snapshot.vms) {
    // one pass over history + now, no copies: 20,000 VMs per call must stay cheap
    const past = history.vmCpu?.get(vm.name) ?? [];
    let sum = vm.cpuUsed;
    let sq = vm.cpuUsed * vm.cpuUsed;
    let peak = vm.cpuUsed;
    for (const v of past) {
      sum += v;
      sq += v * v;
      if (v > peak) peak = v;
    }
    const n = past.length + 1;
    const mean = sum / n;
    vmPast.set(vm.name, past);
    vmLoad.set(vm.name, { mean, variance: Math.max(0, sq / n - mean * mean), peak });
  }
  const spread = config.spread ?? SPREAD;
  const hostLoad = new Map<HostBook, Load>();
  for (const book of ledger.order) {
    const load: Load = { mean: 0, variance: 0, peak: 0 };
    for (const vm of book.vms) add(load, vm, 1);
    hostLoad.set(book, load);
  }
  function add(load: Load, vm: VmState, sign: number): void {
    const l = vmLoad.get(vm.name) ?? { mean: vm.cpuUsed, variance: 0, peak: vm.cpuUsed };
    load.mean += sign * l.mean;
    load.variance += sign * l.variance;
  }
  const predicted = (b: HostBook, extra?: VmState): number => {
    const l = hostLoad.get(b) as Load;
    const e = extra ? (vmLoad.get(extra.name) ?? { mean: extra.cpuUsed, variance: 0, peak: extra.cpuUsed }) : undefined;
    const mean = l.mean + (e?.mean ?? 0);
    const variance = Math.max(0, l.variance + (e?.variance ?? 0));
    return (mean + spread * Math.sqrt(variance)) / b.state.cpuCapacity;
  };
  const measured = (b: HostBook): number => b.state.cpuUsed / b.state.cpuCapacity;
  const now = snapshot.time;
  const usable = (b: HostBook): boolean => cannotReceive(b, config) === undefined;
  const margin = memMargin(config);
  const emptying = new Set<HostBook>();
  const received = new Set<HostBook>();

  // Measured utilisation of the host's current VMs, `back` measurements ago.
  const pastUtil = (b: HostBook, back: number): number | undefined => {
    let sum = 0;
    for (const vm of b.vms) {
      const past = vmPast.get(vm.name) ?? [];
      const v = back === 0 ? vm.cpuUsed : past[past.length - back];
      if (v === undefined) return undefined;
      sum += v;
    }
    return sum / b.state.cpuCapacity;
  };
  // On the projection (book.cpu, book.vms), not the snapshot: shedding stops once the planned
  // departures relieve the host (judged on the snapshot, a saturated host shed every VM it had).
  const saturated = (b: HostBook): boolean =>
    b.cpu > b.state.cpuCapacity || b.vms.some((vm) => vm.cpuUsed > (b.state.cpuPerCore ?? Infinity));
  const nowUtil = (b: HostBook, without?: VmState): number => (b.cpu - (without?.cpuUsed ?? 0)) / b.state.cpuCapacity;
  const sustainedOver = (b: HostBook): boolean => {
    for (let back = 0; back < config.overloadWindow; back++) {
      const u = pastUtil(b, back);
      if (u === undefined || u <= config.high) return false;
    }
    return true;
  };

  function fits(b: HostBook, vm: VmState, limit: number, predLimit = limit): boolean {
    if (emptying.has(b) || !usable(b)) return false;
    if (b.mem - margin < vm.memMiB) return false;
    const peak = vmLoad.get(vm.name)?.peak ?? vm.cpuUsed;
    if (peak > (b.state.cpuPerCore ?? Infinity)) return false;
    return predicted(b, vm) <= predLimit && (b.cpu + vm.cpuUsed) / b.state.cpuCapacity <= limit;
  }
  function bestHost(vm: VmState, from: HostBook, limit: number, predLimit = limit): HostBook | undefined {
    let best: HostBook | undefined;
    let bestFill = -1;
    for (const b of ledger.order) {
      if (b === from || b.vms.length === 0 || !fits(b, vm, limit, predLimit)) continue;
      const fill = predicted(b, vm);
      if (fill > bestFill) {
        bestFill = fill;
        best = b;
      }
    }
    return best;
  }
  function wakeHost(vm: VmState, from: HostBook, limit: number): HostBook | undefined {
    let best: HostBook | undefined;
    for (const b of ledger.order) {
      if (b === from || b.vms.length > 0 || !fits(b, vm, limit)) continue;
      if (!best || b.state.cpuCapacity > best.state.cpuCapacity) best = b;
    }
    return best;
  }
  function move(vm: VmState, from: HostBook, to: HostBook, kind: 'migrate' | 'consolidate', why: string): void {
    const after = predicted(to, vm);
    ledger.move(vm, from, to, {
      vm: vm.name,
      from: from.state.name,
      to: to.state.name,
      kind,
      reason: `${why}; ${to.state.name} predicted at ${pct(after)} after`,
      fallbacks: [],
    });
    add(hostLoad.get(from) as Load, vm, -1);
    add(hostLoad.get(to) as Load, vm, 1);
    received.add(to);
  }

  // 1. overloaded hosts shed load
  let overloadedCount = 0;
  for (const book of ledger.order) {
    if (!usable(book) || book.vms.length === 0) continue;
    const sat = saturated(book);
    if (!sat && !(predicted(book) > config.high && sustainedOver(book))) continue;
    overloadedCount += 1;
    const why = sat
      ? `${book.state.name} saturated (${pct(measured(book))} requested)`
      : `${book.state.name} above ${pct(config.high)} for ${config.overloadWindow} measurements, predicted ${pct(predicted(book))}`;
    for (let guard = book.vms.length; guard > 0; guard--) {
      // A saturated host is relieved to `high` as measured now: the spike it just took is in its
      // hour's spread, and shedding until the prediction is under `high` emptied half the host.
      // A host that stayed above `high` sheds until its prediction is under it.
      if (!saturated(book) && (sat ? nowUtil(book) : predicted(book)) <= config.high) break;
      const movable = book.vms.filter((vm) => cannotMove(vm, config, cooldownOf(vm.name, config, history, now), history, now, ledger.moved) === undefined);
      if (movable.length === 0) {
        ledger.reasons.push(`${why} but every VM on it is pinned or cooling down`);
        break;
      }
      const core = book.state.cpuPerCore ?? Infinity;
      const tooBig = movable.filter((vm) => vm.cpuUsed > core);
      const alone = movable
        .filter((vm) => (sat ? nowUtil(book, vm) : predictedWithout(book, vm)) <= config.high)
        .sort((a, b) => a.memMiB - b.memMiB || b.cpuUsed - a.cpuUsed);
      const biggest = [...movable].sort((a, b) => (vmLoad.get(b.name)?.mean ?? 0) - (vmLoad.get(a.name)?.mean ?? 0));
      const firstPick = tooBig[0] ?? alone[0] ?? biggest[0];
      if (!firstPick) break;
      if (budget.left === 0) {
        budget.take(); // counted as held back
        break;
      }
      let vm: VmState = firstPick;
      let to = bestHost(vm, book, config.high);
      if (!to && sat) {
        // Relief before waking a host: an active host that stays under `high` now and whose
        // prediction stays under its capacity (the head-room above `high` is for this), any VM.
        for (const c of [...tooBig, ...alone, ...biggest]) {
          const t = bestHost(c, book, config.high, 1);
          if (t) {
            vm = c;
            to = t;
            break;
          }
        }
      }
      to ??= wakeHost(vm, book, config.high);
      if (!to) {
        ledger.reasons.push(`${why} but no host can take ${vm.name}`);
        break;
      }
      if (!budget.take()) break;
      move(vm, book, to, 'migrate', why);
    }
  }
  function predictedWithout(b: HostBook, vm: VmState): number {
    const l = hostLoad.get(b) as Load;
    const e = vmLoad.get(vm.name) ?? { mean: vm.cpuUsed, variance: 0, peak: vm.cpuUsed };
    return (l.mean - e.mean + spread * Math.sqrt(Math.max(0, l.variance - e.variance))) / b.state.cpuCapacity;
  }

  // 2. hosts are emptied when everything fits elsewhere: a calm host (under `low`) whenever it
  // can be; any other host only when, without it, the active hosts' predictions still leave room
  // in total for the biggest VM's peak under `high` (Σ predictions + that peak ≤ high × the
  // capacity left), so the next spike finds room instead of waking a host (which would later cost
  // a host's worth of moves to empty again). The room is asked of the hosts together, not of one
  // host: packed by prediction, no single host keeps a whole VM's peak free, and asking it held 40
  // hosts on through an evening whose demand fell by a fifth (balancer/sim/README.md). A relief
  // finds its host among them (on a real host also in the band between `high` and the capacity).
  // The hosts that cost most to keep on (idle watts per unit of capacity) go first, then those that
  // take the fewest moves.
  let biggestPeak = 0;
  for (const b of ledger.order) {
    if (!usable(b)) continue;
    for (const vm of b.vms) biggestPeak = Math.max(biggestPeak, vmLoad.get(vm.name)?.peak ?? vm.cpuUsed);
  }
  const spareAfter = (book: HostBook): boolean => {
    let load = 0;
    let capacity = 0;
    for (const b of ledger.order) {
      if (b.vms.length === 0 || !usable(b) || emptying.has(b)) continue;
      load += predicted(b) * b.state.cpuCapacity;
      capacity += b.state.cpuCapacity;
    }
    return load + biggestPeak <= config.high * (capacity - book.state.cpuCapacity);
  };
  const calm = (b: HostBook): boolean => {
    if (predicted(b) >= config.low) return false;
    for (let back = 0; back < config.calmWindow; back++) {
      const u = pastUtil(b, back);
      if (u === undefined || u >= config.low) return false;
    }
    return true;
  };
  const under = ledger.order
    .filter((b) => usable(b) && b.vms.length > 0 && !received.has(b))
    .sort((a, b) => idlePerCapacity(b) - idlePerCapacity(a) || a.vms.length - b.vms.length || predicted(a) - predicted(b));
  const calmCount = under.filter(calm).length;
  let emptied = 0;
  for (const book of under) {
    if (budget.left < book.vms.length) {
      if (budget.left === 0) budget.take();
      break;
    }
    if (received.has(book)) continue;
    const isCalm = calm(book);
    if (!isCalm && !spareAfter(book)) continue;
    const vms = [...book.vms];
    if (vms.some((vm) => cannotMove(vm, config, cooldownOf(vm.name, config, history, now), history, now, ledger.moved) !== undefined)) continue;
    emptying.add(book);
    const plan: { vm: VmState; to: HostBook }[] = [];
    const order = vms.sort((a, b) => (vmLoad.get(b.name)?.mean ?? 0) - (vmLoad.get(a.name)?.mean ?? 0));
    let ok = true;
    for (const vm of order) {
      const to = bestHost(vm, book, config.high);
      if (!to) {
        ok = false;
        break;
      }
      plan.push({ vm, to });
      // reserve while the rest is tried
      add(hostLoad.get(to) as Load, vm, 1);
      to.cpu += vm.cpuUsed;
      to.mem -= vm.memMiB;
    }
    for (const { vm, to } of plan) {
      add(hostLoad.get(to) as Load, vm, -1);
      to.cpu -= vm.cpuUsed;
      to.mem += vm.memMiB;
    }
    if (!ok) {
      emptying.delete(book);
      continue;
    }
    const why = isCalm
      ? `${book.state.name} under ${pct(config.low)} for ${config.calmWindow} measurements (${pct(measured(book))} now)`
      : `${book.state.name} not needed (${pct(measured(book))} now): the others hold its VMs and keep room for the biggest VM's peak`;
    for (const { vm, to } of plan) move(vm, book, to, 'consolidate', `${why}: emptied so it can switch off`);
    emptied += 1;
  }

  if (ledger.migrations.length === 0) {
    ledger.reasons.push(
      `no host overloaded (above ${pct(config.high)} for ${config.overloadWindow} measurements) and ` +
        `${calmCount === 0 ? `none under ${pct(config.low)} for ${config.calmWindow} measurements` : `none of the ${calmCount} underloaded host(s) could be emptied`}` +
        ' (nor any other host with room for the biggest VM left)',
    );
  } else {
    ledger.reasons.push(`${overloadedCount} overloaded host(s) relieved, ${emptied} host(s) emptied`);
  }
}
