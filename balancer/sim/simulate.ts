// Trace replay: a day of PlanetLab load on CloudSim's cluster model, the
// balancer's own decide() (with the simulator's registry: the agent's
// strategies plus the yardsticks) called every 300 s on a Snapshot of it, the Plan
// applied as live migrations (RAM / (bandwidth / 2) seconds each, 10 % of the
// VM's CPU lost meanwhile), and CloudSim's metrics accounted between decisions.
import type { HostState, Plan, Snapshot, VmState } from '../types.ts';
import { consolidateConfig } from './config.ts';
import { hostInstant, type Guest } from './host-state.ts';
import { emptyTotals, metricsOf, type Metrics } from './metrics.ts';
import { energyJ, HOST_RAM, INTERVAL, MIGRATION_MB_PER_S } from './model.ts';
import { lowerBoundKWh } from './lower-bound.ts';
import { checkPredictions, errorSummary, predictionsOf, type PredictionCheck } from '../prediction.ts';
import { placeInitially } from './placement.ts';
import { Cluster } from './cluster.ts';
import { CLOUDSIM_HOSTS } from './reference.ts';
import { replayDecide, type ReplayConfig } from './strategies.ts';
import { countsTowardCooldown } from '../policy/consolidate.ts';
import { reliefsAsOf, reliefSecondsKept } from '../state-file.ts';
import type { Trace } from './trace.ts';

export interface SimOptions {
  readonly config?: ReplayConfig;
  readonly hosts?: number;
  /** Measurements of history handed to decide() (default: the strategy's `history` seconds,
   * as the agent keeps them; else 12, one hour). */
  readonly historyWindow?: number;
  /** CloudSim removes a VM for good when it requests nothing at an update, i.e. two zero
   * samples in a row (HostDynamicWorkload.getCompletedVms; cloudsim issues #64, #159).
   * Kept by default so the figures compare with the published ones. */
  readonly removeIdleVms?: boolean;
  /** Initial placement: CloudSim's power-aware one (default) or first fit (its DVFS-only run). */
  readonly initialPlacement?: 'power-aware' | 'first-fit';
}

export interface Series {
  readonly activeHosts: number[];
  readonly overloadedHosts: number[];
  readonly migrations: number[];
  readonly energyKWh: number[];
}

export interface SimResult {
  readonly config: ReplayConfig;
  readonly hosts: number;
  readonly vms: number;
  readonly intervals: number;
  readonly metrics: Metrics;
  readonly series: Series;
  /** Wall time spent inside decide(), ms. */
  readonly decideMs: number;
  /** Migrations by kind ('migrate', 'consolidate', ...). */
  readonly byKind: Record<string, number>;
  /** The day's physical lower bound (lower-bound.ts): no strategy can draw less. */
  readonly lowerBoundKWh: number;
  /** Host loads the plans predicted against the next measurement (as the agent logs them). */
  readonly prediction: { readonly count: number; readonly mean: number; readonly meanAbs: number };
}

interface Move {
  readonly vm: number;
  readonly from: number;
  readonly to: number;
  readonly seconds: number;
  /** Hosts the plan sent the VM to before its last destination: CloudSim starts every listed
   * migration, so each of them receives the VM (10 % given, 100 % asked) until it lands. */
  readonly via: readonly number[];
}

export function simulate(trace: Trace, options: SimOptions = {}): SimResult {
  const config = options.config ?? consolidateConfig;
  const c = new Cluster(trace, options.hosts ?? CLOUDSIM_HOSTS);
  placeInitially(c, options.initialPlacement);
  // One hour unless the strategy says (consolidate's `history`): longer than any replayed
  // strategy's windows (at most 2 measurements here).
  const window = options.historyWindow ?? historyRuns(config);
  const totals = emptyTotals();
  const series: Series = { activeHosts: [], overloadedHosts: [], migrations: [], energyKWh: [] };
  const hostNames = Array.from({ length: c.hostCount }, (_, h) => `host${h}`);
  const hostHist = new Map<string, number[]>();
  const vmHist = new Map<string, number[]>();
  const lastMigration = new Map<string, number>();
  const reliefTimes = new Map<string, number[]>();
  const reliefSeconds = reliefSecondsKept(config.strategy === 'consolidate' ? config.settings.cooldownMemory : 0);
  const nameToVm = new Map(trace.names.map((n, v) => [n, v]));
  const nameToHost = new Map(hostNames.map((n, h) => [n, h]));
  let req = Float64Array.from({ length: c.vmCount }, (_, v) => c.demand(v, 0));
  let decideMs = 0;
  const byKind: Record<string, number> = {};
  let pending: Record<string, number> = {};
  const checks: PredictionCheck[] = [];

  const removeIdle = options.removeIdleVms ?? true;
  for (let k = 0; k < trace.length; k++) {
    const t = k * INTERVAL;
    if (removeIdle && k >= 1) {
      for (let v = 0; v < c.vmCount; v++) {
        if ((c.vmHost[v] as number) < 0) continue;
        if (c.idleAt(v, k)) {
          c.remove(v);
          req[v] = 0;
          vmHist.delete(trace.names[v] as string);
        }
      }
    }
    const next = Float64Array.from({ length: c.vmCount }, (_, v) => ((c.vmHost[v] as number) < 0 ? 0 : c.demand(v, t + INTERVAL)));
    let moves: Move[] = [];
    let count = 0;
    if (k >= 1) {
      const snapshot = snapshotOf(c, hostNames, trace.names, req, t);
      const started = performance.now();
      const plan = replayDecide(snapshot, config, { hostUtilisation: hostHist, lastMigration, vmCpu: vmHist, reliefs: reliefTimes });
      decideMs += performance.now() - started;
      const measured = new Map(snapshot.hosts.map((h) => [h.name, h.cpuUsed / h.cpuCapacity]));
      checks.push(...checkPredictions(pending, measured));
      pending = predictionsOf(plan.migrations);
      for (const m of plan.migrations) byKind[m.kind] = (byKind[m.kind] ?? 0) + 1;
      ({ moves, count } = movesOf(plan, c, nameToVm, nameToHost));
      for (const m of moves) lastMigration.set(trace.names[m.vm] as string, t);
      // relief times per VM, kept as the agent keeps them
      const relieved = new Set(plan.migrations.filter((m) => countsTowardCooldown(m.kind)).map((m) => m.vm));
      for (const vm of relieved) reliefTimes.set(vm, [...reliefsAsOf(reliefTimes.get(vm) ?? [], t, reliefSeconds), t]);
    }
    // history as measured at t, before the moves; overloaded = cannot give what is asked
    let overloaded = 0;
    for (let h = 0; h < c.hostCount; h++) {
      const list = c.hostVms[h] as number[];
      let used = 0;
      for (const v of list) used += req[v] as number;
      push(hostHist, hostNames[h] as string, used / (c.capacity[h] as number), window);
      if (list.length > 0) {
        const now = hostInstant(list.map((v) => ({ request: req[v] as number, share: 1 })), c.capacity[h] as number, c.perCore[h] as number);
        if (now.used < now.requested) overloaded += 1;
      }
    }
    for (let v = 0; v < c.vmCount; v++) if ((c.vmHost[v] as number) >= 0) push(vmHist, trace.names[v] as string, req[v] as number, window);

    // CloudSim's first host update is its first decision, at t = 300: until then every host's
    // previous utilisation is 0, so the first interval adds no energy (PowerHost's
    // getEnergyLinearInterpolation returns 0 from 0) and no active, violation or requested
    // time (the state histories start there), though ~700 hosts are on from t = 0.
    const counted = k >= 1 ? totals : emptyTotals();
    const before = counted.energyJ;
    const { active } = account(c, moves, t, req, next, counted);
    for (let v = 0; v < c.vmCount; v++) counted.requestedMipsS += (req[v] as number) * INTERVAL;
    totals.migrations += count;
    series.activeHosts.push(active);
    series.overloadedHosts.push(overloaded);
    series.migrations.push(count);
    series.energyKWh.push(k >= 1 ? (totals.energyJ - before) / 3_600_000 : 0);
    // the moves complete within the interval: apply them, quickest first
    for (const m of [...moves].sort((a, b) => a.seconds - b.seconds)) {
      if (m.from === m.to) continue;
      c.remove(m.vm);
      c.place(m.vm, m.to);
    }
    req = next;
  }
  return {
    config,
    hosts: c.hostCount,
    vms: c.vmCount,
    intervals: trace.length,
    metrics: metricsOf(totals),
    series,
    decideMs,
    byKind,
    lowerBoundKWh: lowerBoundKWh(totals.requestedMipsS, c.hostTypes),
    prediction: errorSummary(checks),
  };
}

/** Measurements of per-VM history the replay hands decide(): `history` seconds of 5-minute
 * decisions where the strategy has that setting (consolidate), else one hour. */
export function historyRuns(config: ReplayConfig): number {
  const seconds = config.strategy === 'consolidate' ? (config.settings.history ?? 3600) : 3600;
  return Math.ceil(seconds / INTERVAL);
}

function push(map: Map<string, number[]>, key: string, value: number, window: number): void {
  let list = map.get(key);
  if (!list) {
    list = [];
    map.set(key, list);
  }
  list.push(value);
  if (list.length > window) list.shift();
}

function snapshotOf(c: Cluster, hostNames: readonly string[], vmNames: readonly string[], req: Float64Array, time: number): Snapshot {
  const hosts: HostState[] = [];
  const vms: VmState[] = [];
  for (let h = 0; h < c.hostCount; h++) {
    let used = 0;
    for (const v of c.hostVms[h] as number[]) {
      used += req[v] as number;
      vms.push({
        name: vmNames[v] as string,
        host: hostNames[h] as string,
        home: undefined,
        cpuUsed: req[v] as number,
        memMiB: c.vmRam[v] as number,
        pinned: false,
      });
    }
    hosts.push({
      name: hostNames[h] as string,
      reachable: true,
      drained: false,
      cpuCapacity: c.capacity[h] as number,
      cpuUsed: used,
      memTotalMiB: HOST_RAM,
      // CloudSim's cloudlets request no RAM (UtilizationModelNull): a VM's RAM binds only at
      // its first placement and sets how long it takes to migrate. So memory never refuses.
      memAvailableMiB: Number.POSITIVE_INFINITY,
      cpuPerCore: c.perCore[h] as number,
      powerModel: (c.hostTypes[h] as { power: readonly number[] }).power,
    });
  }
  return { time, hosts, vms };
}

/** The plan as moves: a VM listed twice (CloudSim's THR-MMT can do that) ends at the last
 * destination and counts twice, as CloudSim counts it. */
function movesOf(plan: Plan, c: Cluster, vmIndex: Map<string, number>, hostIndex: Map<string, number>): { moves: Move[]; count: number } {
  const targets = new Map<number, number[]>();
  for (const m of plan.migrations) {
    const v = vmIndex.get(m.vm);
    const to = hostIndex.get(m.to);
    if (v === undefined || to === undefined) throw new Error(`plan names unknown VM or host: ${m.vm} -> ${m.to}`);
    const list = targets.get(v) ?? [];
    list.push(to);
    targets.set(v, list);
  }
  const moves: Move[] = [];
  for (const [vm, list] of targets) {
    const from = c.vmHost[vm] as number;
    const to = list[list.length - 1] as number;
    const via = list.slice(0, -1).filter((h) => h !== from && h !== to);
    if (from === to && via.length === 0) continue;
    moves.push({ vm, from, to, seconds: (c.vmRam[vm] as number) / MIGRATION_MB_PER_S, via });
  }
  return { moves, count: plan.migrations.length };
}

/** Energy, active time, violation time and migration loss over [t, t + INTERVAL]. */
function account(
  c: Cluster,
  moves: readonly Move[],
  t: number,
  req: Float64Array,
  next: Float64Array,
  totals: ReturnType<typeof emptyTotals>,
): { active: number } {
  const touched = new Map<number, Move[]>();
  for (const m of moves) {
    for (const h of [m.from, m.to, ...m.via]) {
      const list = touched.get(h) ?? [];
      list.push(m);
      touched.set(h, list);
    }
  }
  let active = 0;
  for (let h = 0; h < c.hostCount; h++) {
    const cap = c.capacity[h] as number;
    const core = c.perCore[h] as number;
    const model = (c.hostTypes[h] as { power: readonly number[] }).power;
    const list = c.hostVms[h] as number[];
    const mine = touched.get(h);
    if (!mine) {
      if (list.length === 0) continue;
      const a = hostInstant(list.map((v) => ({ request: req[v] as number, share: 1 })), cap, core);
      const b = hostInstant(list.map((v) => ({ request: next[v] as number, share: 1 })), cap, core);
      totals.energyJ += energyJ(model, Math.min(1, a.used / cap), Math.min(1, b.used / cap), INTERVAL);
      if (a.used > 0) {
        active += 1;
        totals.activeS += INTERVAL;
        if (a.used < a.requested) totals.violationS += INTERVAL;
      }
      continue;
    }
    const ends = [...new Set(mine.map((m) => Math.min(INTERVAL, m.seconds))), INTERVAL].sort((x, y) => x - y);
    let start = 0;
    let first = true;
    for (const end of ends) {
      if (end <= start) continue;
      const guestsAt = (time: number): Guest[] => guestList(c, h, mine, start, t + time);
      const a = hostInstant(guestsAt(start), cap, core);
      const b = hostInstant(guestsAt(end), cap, core);
      const span = end - start;
      totals.energyJ += energyJ(model, Math.min(1, a.used / cap), Math.min(1, b.used / cap), span);
      totals.migrationLossMipsS += (a.outRequested - a.outAllocated) * span;
      if (a.used > 0) {
        totals.activeS += span;
        if (a.used < a.requested) totals.violationS += span;
      }
      if (first) {
        if (a.used > 0) active += 1;
        first = false;
      }
      start = end;
    }
  }
  return { active };
}

/** The guests of host h during a segment starting `offset` s into the interval, with their
 * requests at absolute time `at`: VMs that have left are gone, VMs that arrived are regular. */
function guestList(c: Cluster, h: number, mine: readonly Move[], offset: number, at: number): Guest[] {
  const out: Guest[] = [];
  const leaving = new Map<number, Move>();
  const arriving: Move[] = [];
  const passing: Move[] = [];
  for (const m of mine) {
    if (m.from === h && m.to !== h) leaving.set(m.vm, m);
    else if (m.to === h && m.from !== h) arriving.push(m);
    else if (m.via.includes(h)) passing.push(m);
  }
  for (const v of c.hostVms[h] as number[]) {
    const m = leaving.get(v);
    if (m && m.seconds <= offset) continue;
    out.push({ request: c.demand(v, at), share: m ? 0.9 : 1 });
  }
  arriving.sort((a, b) => a.seconds - b.seconds);
  for (const m of arriving) out.push({ request: c.demand(m.vm, at), share: m.seconds <= offset ? 1 : 0.1 });
  for (const m of passing) if (m.seconds > offset) out.push({ request: c.demand(m.vm, at), share: 0.1 });
  return out;
}
