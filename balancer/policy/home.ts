// Strategy 'home' (the default on clusters): the seed's rule, done right. Each
// VM has a home hypervisor; helpers take the overload, in order:
//  - migrate: a home host above `high` for `overloadWindow` consecutive
//    measurements sends away the VM whose departure best brings it below
//    `high`, one per run, to a helper (in order, least used by this home's
//    guests first) that has the memory and stays below `high`;
//  - remigrate: a guest comes home when the home's load WITH it back would have
//    stayed below `low` for the last `calmWindow` measurements and under `high`
//    for the last 2 × `calmWindow` (so the history must hold that many).
// The gap high/low, the two windows and the per-VM cooldown together make a
// bounce impossible: a VM that left cannot return before its cooldown, and
// returns only when the home has been calm enough to hold it with margin.
import type { CommonConfig, History, Snapshot } from '../types.ts';
import type { Budget } from './budget.ts';
import { fitting, refusedText } from './destination.ts';
import { cannotMove, cannotReceive, failedThere, isDrained, lacksMemory, unusable } from './eligibility.ts';
import { pct, plural } from './format.ts';
import type { HostBook, Ledger } from './ledger.ts';
import { sustained, windowOf } from './predict.ts';
import type { Strategy } from './strategy.ts';

export interface HomeSettings {
  /** Home hypervisors: where VMs live, and whose overload is relieved. */
  readonly home: readonly string[];
  /** Helper hypervisors in order of preference; empty = every other host. */
  readonly helpers: readonly string[];
  /** Utilisation thresholds, 0..1 (the inventory's percentages / 100). */
  readonly high: number;
  readonly low: number;
  /** Measurements (runs). */
  readonly overloadWindow: number;
  readonly calmWindow: number;
  /** Seconds a VM stays where it is after it moved. */
  readonly cooldown: number;
}

export const homeStrategy: Strategy<HomeSettings> = {
  name: 'home',
  summary: 'relieve each home hypervisor above high to its helpers, bring VMs home when it is calm',
  drainLimit: (s) => s.high,
  plan: ({ snapshot, settings, common, history, ledger, budget }) => planHome(snapshot, { ...common, ...settings }, history, ledger, budget),
};

/** The settings and the common part, as one flat view for the functions below. */
type Config = HomeSettings & CommonConfig;

export function planHome(snapshot: Snapshot, config: Config, history: History, ledger: Ledger, budget: Budget): void {
  const homes = config.home.map((name) => ledger.hosts.get(name));
  config.home.forEach((name, i) => {
    const book = homes[i];
    if (!book) ledger.reasons.push(`home host ${name} is not in the snapshot`);
    else relieve(book, snapshot, config, history, ledger, budget);
  });
  planReturns(snapshot, config, history, ledger, budget);
}

function helperBooks(ledger: Ledger, config: Config): HostBook[] {
  const names = config.helpers.length > 0 ? config.helpers : ledger.order.map((b) => b.state.name).filter((n) => !config.home.includes(n));
  return names.flatMap((n) => {
    const b = ledger.hosts.get(n);
    return b ? [b] : [];
  });
}

function relieve(book: HostBook, snapshot: Snapshot, config: Config, history: History, ledger: Ledger, budget: Budget): void {
  const name = book.state.name;
  if (!book.state.reachable) return; // decide() has said it is unreachable
  if (isDrained(book, config)) return; // planDrains has spoken for it
  const now = book.state.cpuCapacity > 0 ? book.state.cpuUsed / book.state.cpuCapacity : 0;
  const past = history.hostUtilisation.get(name);
  const over = (v: number): boolean => v > config.high;
  if (!sustained(past, now, config.overloadWindow, over)) {
    const window = windowOf(past, now, config.overloadWindow);
    const above = window.filter(over).length;
    ledger.reasons.push(
      now > config.high
        ? `${name} at ${pct(now)} > ${pct(config.high)} but only ${above} of the last ${plural(config.overloadWindow, 'measurement')}: waiting`
        : `${name} at ${pct(now)}, not above ${pct(config.high)}: nothing to relieve`,
    );
    return;
  }
  const blocked: string[] = [];
  const movable = book.vms.filter((vm) => {
    const why = cannotMove(vm, config, config.cooldown, history, snapshot.time, ledger.moved);
    if (why) blocked.push(why);
    return !why;
  });
  if (movable.length === 0) {
    ledger.reasons.push(`${name} overloaded (${pct(now)}) but no VM may move: ${blocked.join('; ') || 'it runs no VM'}`);
    return;
  }
  const helpers = helperBooks(ledger, config);
  const guestsOf = (h: HostBook): number => h.vms.filter((vm) => vm.home === name).length;
  const ranked = helpers
    .map((h, i) => ({ h, i, guests: guestsOf(h) }))
    .sort((a, b) => a.guests - b.guests || a.i - b.i)
    .map((x) => x.h);
  // Best departure first: the smallest VM that brings the home below `high`,
  // then, if none suffices alone, the biggest ones.
  const enough = movable.filter((vm) => ledger.utilWithout(book, vm) < config.high).sort((a, b) => a.cpuUsed - b.cpuUsed);
  const rest = movable.filter((vm) => !enough.includes(vm)).sort((a, b) => b.cpuUsed - a.cpuUsed);
  const refusals: string[] = [];
  for (const vm of [...enough, ...rest]) {
    const { fits, refused } = fitting(ledger, vm, ranked, config, config.high, new Set(), { failures: history.failures, now: snapshot.time });
    const to = fits[0];
    if (!to) {
      refusals.push(`${vm.name}: ${refusedText(refused)}`);
      continue;
    }
    if (!budget.take()) return;
    const left = ledger.utilWithout(book, vm);
    const after = ledger.utilWith(to, vm);
    ledger.move(vm, book, to, {
      vm: vm.name,
      from: name,
      to: to.state.name,
      kind: 'migrate',
      reason:
        `${name} at ${pct(now)} for ${plural(config.overloadWindow, 'measurement')} > ${pct(config.high)}; ` +
        `${vm.name} (${pct(vm.cpuUsed / book.state.cpuCapacity)}) brings it to ${pct(left)}, ${to.state.name} goes to ${pct(after)}`,
      fallbacks: fits.slice(1).map((b) => b.state.name),
    });
    return;
  }
  ledger.reasons.push(`${name} overloaded (${pct(now)}) but no helper can take a VM: ${refusals.slice(0, 3).join(' | ')}`);
}

function planReturns(snapshot: Snapshot, config: Config, history: History, ledger: Ledger, budget: Budget): void {
  for (const vm of snapshot.vms) {
    if (vm.home === undefined || vm.home === vm.host) continue;
    const home = ledger.hosts.get(vm.home);
    const where = ledger.hosts.get(vm.host);
    if (!home || !where) {
      ledger.reasons.push(`${vm.name} is away from ${vm.home} but ${!home ? vm.home : vm.host} is not in the snapshot`);
      continue;
    }
    if (!where.state.reachable) {
      ledger.reasons.push(`${vm.name} stays on ${vm.host}: ${vm.host} ${unusable(where.state)}`);
      continue;
    }
    const why =
      cannotReceive(home, config) ??
      cannotMove(vm, config, config.cooldown, history, snapshot.time, ledger.moved) ??
      failedThere(vm, home.state.name, history.failures, snapshot.time) ??
      lacksMemory(home, vm, config);
    if (why) {
      ledger.reasons.push(`${vm.name} stays on ${vm.host} (home ${vm.home}): ${why}`);
      continue;
    }
    const share = vm.cpuUsed / home.state.cpuCapacity;
    const projected = ledger.util(home) + share;
    // The home's past with the VM's own past load added (its current load when
    // the runtime keeps no per-VM history), newest aligned with newest.
    const homePast = history.hostUtilisation.get(home.state.name) ?? [];
    const vmPast = history.vmCpu?.get(vm.name) ?? [];
    const past = homePast.map((u, i) => {
      const v = vmPast[vmPast.length - homePast.length + i];
      return u + (v === undefined ? share : v / home.state.cpuCapacity);
    });
    const calm = sustained(past, projected, config.calmWindow, (v) => v < config.low);
    // An oscillation whose calm phase is shorter than twice the calm window is
    // not calm: the home must also have stayed under `high` (with the VM back)
    // for 2 × calmWindow measurements, or the VM would be sent away again.
    // (A runtime that keeps fewer measurements gets what it keeps, never fewer than calmWindow.)
    const settleWindow = Math.max(config.calmWindow, Math.min(2 * config.calmWindow, past.length + 1));
    const settled = sustained(past, projected, settleWindow, (v) => v <= config.high);
    if (!calm || !settled) {
      ledger.reasons.push(
        `${vm.name} stays on ${vm.host}: ${vm.home} with it back would be at ${pct(projected)}, ` +
          (calm
            ? `but not under ${pct(config.high)} for the last ${plural(settleWindow, 'measurement')}`
            : `not below ${pct(config.low)} for the last ${plural(config.calmWindow, 'measurement')}`),
      );
      continue;
    }
    if (!budget.take()) continue;
    ledger.move(vm, where, home, {
      vm: vm.name,
      from: vm.host,
      to: vm.home,
      kind: 'remigrate',
      reason: `${vm.home} with ${vm.name} back would be at ${pct(projected)}, below ${pct(config.low)} for ${plural(config.calmWindow, 'measurement')}: going home`,
      fallbacks: [],
    });
  }
}
