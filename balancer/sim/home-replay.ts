// Replays a strategy on the home scenario (home-scenario.ts) and measures what
// the seed's cluster cares about: minutes the home spends above OVERLOAD,
// migrations and remigrations, VM-hours away from home, SLATAH (share of
// active-host time asking for more than the host has) and PDM (10 % of a
// moving VM's demand lost while it moves, RAM / 62.5 MB/s). Every run: measure
// at t, decide() with the simulator's registry, apply the plan (each move ends
// within the run), remember the history as the agent does.
import type { HostState, Plan, Snapshot, VmState } from '../types.ts';
import { HELPERS, HOME, OVERLOAD, vmDemand, type HomeScenario } from './home-scenario.ts';
import { MIGRATION_MB_PER_S, MIGRATION_PENALTY } from './model.ts';
import { replayDecide, type ReplayConfig } from './strategies.ts';
import { checkPredictions, errorSummary, predictionsOf, type PredictionCheck } from '../prediction.ts';

export interface HomeMetrics {
  readonly runs: number;
  /** Runs (minutes at the default step) the home was measured above OVERLOAD. */
  readonly overloadMinutes: number;
  /** Runs the home asked for more than it has (above 100 %). */
  readonly saturatedMinutes: number;
  readonly migrations: number;
  readonly remigrations: number;
  /** A VM sent away again within an hour of coming home. */
  readonly bounces: number;
  readonly vmHoursAway: number;
  /** Fractions (0..1). */
  readonly slatah: number;
  readonly pdm: number;
  /** Host loads the plans predicted against the next run's measurement. */
  readonly prediction: { readonly count: number; readonly mean: number; readonly meanAbs: number };
}

export interface HomeReplay {
  readonly config: ReplayConfig;
  readonly metrics: HomeMetrics;
  /** Per run: home utilisation as measured, VMs away, moves. */
  readonly series: { readonly homeUtil: number[]; readonly away: number[]; readonly moves: number[] };
}

const HISTORY = 12;

export function replayHome(s: HomeScenario, config: ReplayConfig): HomeReplay {
  const names = s.vms.map((v) => s.trace.names[v] as string);
  const index = new Map(names.map((n, i) => [n, i]));
  const hosts = [HOME, ...HELPERS];
  const where = names.map(() => HOME);
  const hostHist = new Map<string, number[]>();
  const vmHist = new Map<string, number[]>();
  const lastMigration = new Map<string, number>();
  const cameHome = new Map<string, number>();
  const series = { homeUtil: [] as number[], away: [] as number[], moves: [] as number[] };
  let overloadMinutes = 0;
  let saturatedMinutes = 0;
  let migrations = 0;
  let remigrations = 0;
  let bounces = 0;
  let awayRuns = 0;
  let activeRuns = 0;
  let violationRuns = 0;
  let demanded = 0;
  let lost = 0;
  let pending: Record<string, number> = {};
  const checks: PredictionCheck[] = [];
  for (let k = 0; k < s.runs; k++) {
    const t = k * s.step;
    const cpu = names.map((_, i) => vmDemand(s, i, t));
    const used = new Map(hosts.map((h) => [h, 0]));
    cpu.forEach((c, i) => used.set(where[i] as string, (used.get(where[i] as string) ?? 0) + c));
    const homeUtil = (used.get(HOME) ?? 0) / s.capacity;
    if (homeUtil > OVERLOAD) overloadMinutes += 1;
    if (homeUtil > 1) saturatedMinutes += 1;
    for (const h of hosts) {
      if (!where.includes(h)) continue;
      activeRuns += 1;
      if ((used.get(h) ?? 0) > s.capacity) violationRuns += 1;
    }
    const away = where.filter((h) => h !== HOME).length;
    awayRuns += away;
    demanded += cpu.reduce((a, b) => a + b, 0) * s.step;

    const plan = replayDecide(snapshotOf(s, names, where, cpu, used, t), config, { hostUtilisation: hostHist, lastMigration, vmCpu: vmHist });
    checks.push(...checkPredictions(pending, new Map(hosts.map((h) => [h, (used.get(h) ?? 0) / s.capacity]))));
    pending = predictionsOf(plan.migrations);
    for (const h of hosts) push(hostHist, h, (used.get(h) ?? 0) / s.capacity);
    names.forEach((n, i) => push(vmHist, n, cpu[i] as number));
    series.homeUtil.push(homeUtil);
    series.away.push(away);
    series.moves.push(plan.migrations.length);
    for (const m of movesOf(plan, index)) {
      const i = m.i;
      where[i] = m.to;
      lastMigration.set(m.vm, t);
      lost += MIGRATION_PENALTY * (cpu[i] as number) * ((s.ramMiB[i] as number) / MIGRATION_MB_PER_S);
      if (m.kind === 'remigrate') {
        remigrations += 1;
        cameHome.set(m.vm, t);
      } else {
        migrations += 1;
        const back = cameHome.get(m.vm);
        if (back !== undefined && t - back < 3600) bounces += 1;
      }
    }
  }
  const metrics: HomeMetrics = {
    runs: s.runs,
    overloadMinutes,
    saturatedMinutes,
    migrations,
    remigrations,
    bounces,
    vmHoursAway: (awayRuns * s.step) / 3600,
    slatah: activeRuns > 0 ? violationRuns / activeRuns : 0,
    pdm: demanded > 0 ? lost / demanded : 0,
    prediction: errorSummary(checks),
  };
  return { config, metrics, series };
}

function snapshotOf(s: HomeScenario, names: readonly string[], where: readonly string[], cpu: readonly number[], used: ReadonlyMap<string, number>, time: number): Snapshot {
  const vms: VmState[] = names.map((name, i) => ({ name, host: where[i] as string, home: HOME, cpuUsed: cpu[i] as number, memMiB: s.ramMiB[i] as number, pinned: false }));
  const hosts: HostState[] = [HOME, ...HELPERS].map((name) => {
    const mem = names.reduce((sum, _n, i) => sum + (where[i] === name ? (s.ramMiB[i] as number) : 0), 0);
    return { name, reachable: true, drained: false, cpuCapacity: s.capacity, cpuUsed: used.get(name) ?? 0, cpuPerCore: s.perCore, memTotalMiB: s.memMiB, memAvailableMiB: s.memMiB - mem };
  });
  return { time, hosts, vms };
}

function movesOf(plan: Plan, index: ReadonlyMap<string, number>): { vm: string; i: number; to: string; kind: string }[] {
  return plan.migrations.map((m) => {
    const i = index.get(m.vm);
    if (i === undefined) throw new Error(`plan names an unknown VM: ${m.vm}`);
    return { vm: m.vm, i, to: m.to, kind: m.kind };
  });
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key) ?? [];
  list.push(value);
  if (list.length > HISTORY) list.shift();
  map.set(key, list);
}
