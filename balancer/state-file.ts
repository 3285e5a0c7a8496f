// The state file (/var/lib/hvmctl/...state.json): only what libvirt cannot
// tell us — the recent utilisation of each host (the windows), when each VM
// last moved (also in its libvirt metadata) and drain/undrain made at run time.
// Losing it, or finding it corrupt, loses the windows and nothing else: where
// VMs run and where their home is are read from libvirt on every run.
import { readFile } from 'node:fs/promises';
import { writeFileSafely } from './safe-file.ts';
import { dirname } from 'node:path';
import type { PredictionCheck } from './prediction.ts';
import type { History } from './types.ts';
import type { Failures } from './backoff.ts';
import { HvmError } from '../src/errors.ts';

export interface BalancerState {
  readonly version: 1;
  /** Per host, recent utilisations 0..1, oldest first. */
  readonly hostUtilisation: Readonly<Record<string, readonly number[]>>;
  /** Per VM, Unix seconds of its last migration. */
  readonly lastMigration: Readonly<Record<string, number>>;
  /** Per VM, recent CPU use (percent of one core), oldest first. */
  readonly vmCpu: Readonly<Record<string, readonly number[]>>;
  /** Per VM, Unix seconds of its moves off an overloaded host over the last day, or the last
   * `cooldown_memory` when that is longer (a growing cooldown counts them). A state file from before 2026-12-01 has `moves` (every move) instead:
   * it is not read, so those cooldowns start from the base again. */
  readonly reliefs?: Readonly<Record<string, readonly number[]>>;
  /** Drained with `balance drain` (added to the inventory's list). */
  readonly drained: readonly string[];
  /** Undrained with `balance undrain` (removed from the inventory's list). */
  readonly undrained: readonly string[];
  /** Host loads (0..1) the last run that migrated predicted for the next measurement. */
  readonly predicted?: Readonly<Record<string, number>>;
  /** The last comparison of such a prediction with what was then measured. */
  readonly lastCheck?: { readonly time: number; readonly rows: readonly PredictionCheck[] };
  /** Per VM, a move time found in the future [as recorded, the run's time that first saw it]:
   * it counts as that run's time until the clock passes it (see clampFutureMoves). */
  readonly futureMoves?: Readonly<Record<string, readonly [number, number]>>;
  /** Failed migrations in a row (balancer/backoff.ts). */
  readonly failures?: Failures;
}

export const emptyState: BalancerState = { version: 1, hostUtilisation: {}, lastMigration: {}, vmCpu: {}, drained: [], undrained: [] };

export interface LoadedState {
  readonly state: BalancerState;
  /** Set when the file was missing or unreadable: what was lost. */
  readonly warning: string | undefined;
}

export async function readState(path: string): Promise<LoadedState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { state: emptyState, warning: `no state file ${path} (${code ?? 'unreadable'}): utilisation windows start empty; homes and moves come from libvirt` };
  }
  try {
    return { state: parseState(text), warning: undefined };
  } catch (error) {
    return { state: emptyState, warning: `state file ${path} is corrupt (${(error as Error).message}): utilisation windows start empty; homes and moves come from libvirt` };
  }
}

export function parseState(text: string): BalancerState {
  const data: unknown = JSON.parse(text);
  if (typeof data !== 'object' || data === null) throw new Error('not an object');
  const d = data as Record<string, unknown>;
  if (d.version !== 1) throw new Error(`version ${JSON.stringify(d.version)}, expected 1`);
  const record = <T>(v: unknown, ok: (x: unknown) => x is T): Record<string, T> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('bad record');
    for (const x of Object.values(v)) if (!ok(x)) throw new Error('bad value');
    return v as Record<string, T>;
  };
  const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const isNums = (x: unknown): x is number[] => Array.isArray(x) && x.every(isNum);
  const names = (v: unknown): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error('bad list');
    return v as string[];
  };
  return {
    version: 1,
    hostUtilisation: record(d.hostUtilisation, isNums),
    lastMigration: record(d.lastMigration, isNum),
    vmCpu: d.vmCpu === undefined ? {} : record(d.vmCpu, isNums),
    ...(d.reliefs === undefined ? {} : { reliefs: record(d.reliefs, isNums) }),
    drained: names(d.drained),
    undrained: names(d.undrained),
    ...(d.predicted === undefined ? {} : { predicted: record(d.predicted, isNum) }),
    ...(d.lastCheck === undefined ? {} : { lastCheck: lastCheckOf(d.lastCheck) }),
    ...(d.futureMoves === undefined ? {} : { futureMoves: record(d.futureMoves, (x): x is [number, number] => isNums(x) && x.length === 2) }),
    ...(d.failures === undefined ? {} : { failures: failuresOf(d.failures, record, isNums) }),
  };
}

function failuresOf(
  v: unknown,
  record: <T>(v: unknown, ok: (x: unknown) => x is T) => Record<string, T>,
  isNums: (x: unknown) => x is number[],
): Failures {
  const o = v as { vms?: unknown; destinations?: unknown } | null;
  if (typeof o !== 'object' || o === null) throw new Error('bad failures');
  const pair = (x: unknown): x is [number, number] => isNums(x) && x.length === 2;
  return { vms: record(o.vms, pair), destinations: record(o.destinations, pair) };
}

function lastCheckOf(v: unknown): BalancerState['lastCheck'] {
  const o = v as { time?: unknown; rows?: unknown };
  const ok = (r: unknown): r is PredictionCheck =>
    typeof r === 'object' && r !== null && typeof (r as PredictionCheck).host === 'string' &&
    ['predicted', 'measured', 'error'].every((k) => Number.isFinite((r as unknown as Record<string, unknown>)[k]));
  if (typeof o !== 'object' || o === null || typeof o.time !== 'number' || !Array.isArray(o.rows) || !o.rows.every(ok)) throw new Error('bad lastCheck');
  return { time: o.time, rows: o.rows };
}

/** Written to a temporary file then renamed, so a crash never leaves half a file. */
export async function writeState(path: string, state: BalancerState): Promise<void> {
  // on the shared storage: never through a link planted there (balancer/safe-file.ts)
  await writeFileSafely(path, `${JSON.stringify(state)}\n`);
}

/** drain/undrain made at run time, kept in a file of their own (paths.drains). */
export interface Drains {
  readonly drained: readonly string[];
  readonly undrained: readonly string[];
}

/**
 * The drains file. Missing: the drains an older version kept in the state
 * file (`legacy`), or none. Unreadable or corrupt: an error, never "no
 * drains": running as if nothing were drained would send VMs to a host an
 * operator is emptying.
 */
export async function readDrains(path: string, legacy: Drains = emptyState): Promise<Drains> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { drained: legacy.drained, undrained: legacy.undrained };
    throw new HvmError('E_DRAINS', `cannot read the drains file ${path}: ${(error as Error).message}`, { hint: 'check the shared storage it is on; nothing was done' });
  }
  try {
    const d = JSON.parse(text) as { drained?: unknown; undrained?: unknown };
    const names = (v: unknown): string[] => {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error('drained and undrained must be lists of host names');
      return v as string[];
    };
    return { drained: names(d.drained), undrained: names(d.undrained) };
  } catch (error) {
    throw new HvmError('E_DRAINS', `the drains file ${path} is corrupt: ${(error as Error).message}`, {
      hint: `fix or remove it (removing it undrains every host drained with \`balance drain\`), then run \`balance drain HOST\` again for each host to keep drained`,
    });
  }
}

/** Written whole (a temporary file, then renamed). */
export async function writeDrains(path: string, drains: Drains): Promise<void> {
  await writeFileSafely(path, `${JSON.stringify({ drained: drains.drained, undrained: drains.undrained })}\n`);
}

/** Hosts drained now: the inventory's list, plus `drain`, minus `undrain`. */
export function effectiveDrained(configured: readonly string[], drains: Drains): string[] {
  const out = new Set([...configured, ...drains.drained]);
  for (const h of drains.undrained) out.delete(h);
  return [...out].sort();
}

export function withDrain<T extends Drains>(state: T, host: string, drained: boolean): T {
  const add = (list: readonly string[]): string[] => [...new Set([...list, host])].sort();
  const remove = (list: readonly string[]): string[] => list.filter((h) => h !== host);
  return drained
    ? { ...state, drained: add(state.drained), undrained: remove(state.undrained) }
    : { ...state, drained: remove(state.drained), undrained: add(state.undrained) };
}

/**
 * The policy's history: the windows from the state file, and each VM's last
 * move from the later of the state file and its libvirt metadata (so a lost
 * state file keeps every cooldown).
 */
export function historyOf(state: BalancerState, movedFromMetadata: ReadonlyMap<string, number>): History {
  const lastMigration = new Map(Object.entries(state.lastMigration));
  for (const [vm, t] of movedFromMetadata) lastMigration.set(vm, Math.max(t, lastMigration.get(vm) ?? -Infinity));
  return {
    hostUtilisation: new Map(Object.entries(state.hostUtilisation)),
    lastMigration,
    vmCpu: new Map(Object.entries(state.vmCpu)),
    reliefs: new Map(Object.entries(state.reliefs ?? {})),
    ...(state.failures ? { failures: state.failures } : {}),
  };
}

/**
 * Move times from the future (the clock was set back after a forward jump, or a host's clock
 * is ahead) would hold a VM in its cooldown for as long as the jump: each counts as `now`,
 * and is named in a warning. Pure.
 */
export function clampFutureMoves(
  history: History,
  now: number,
  seen: BalancerState['futureMoves'] = {},
): { history: History; warnings: string[]; futureMoves: Record<string, readonly [number, number]> } {
  const warnings: string[] = [];
  const futureMoves: Record<string, readonly [number, number]> = {};
  const clamp = (vm: string, t: number): number => {
    if (t <= now) return t;
    // Counted as the time of the run that first saw it, not as every run's now: else the VM
    // would stay in its cooldown until the clock caught up.
    const prior = seen[vm];
    const countedAs = prior !== undefined && prior[0] === t ? Math.min(prior[1], now) : now;
    futureMoves[vm] = [t, countedAs];
    warnings.push(`${vm}: its last move is recorded ${Math.round(t - now)} s in the future (a clock jump?): counted as ${countedAs === now ? 'now' : `${Math.round(now - countedAs)} s ago, when first seen`}`);
    return countedAs;
  };
  const lastMigration = new Map([...history.lastMigration].map(([vm, t]) => [vm, clamp(vm, t)] as const));
  const reliefs = history.reliefs && new Map([...history.reliefs].map(([vm, ts]) => [vm, ts.map((t) => Math.min(t, now))] as const));
  return { history: { ...history, lastMigration, ...(reliefs ? { reliefs } : {}) }, warnings, futureMoves };
}

/** Seconds of relief times kept per VM at least; longer when the growing cooldown looks further back. */
export const RELIEFS_KEPT_SECONDS = 86_400;

/** Seconds of relief times to keep for a growing cooldown whose memory is `cooldownMemory` seconds. */
export const reliefSecondsKept = (cooldownMemory = 0): number => Math.max(RELIEFS_KEPT_SECONDS, cooldownMemory);

/**
 * The relief times a VM keeps as of `at`: the last `seconds`. One from the future (a clock that
 * was ahead) is dropped, not counted as fresh until the clock catches up. The agent's state
 * (nextState) and the replay (sim/simulate.ts) keep them by this one rule.
 */
export function reliefsAsOf(times: readonly number[], at: number, seconds = RELIEFS_KEPT_SECONDS): number[] {
  return times.filter((t) => t <= at && at - t < seconds);
}

/** What a run adds to the state besides its utilisations and moves. */
export interface RunExtras {
  /** Per VM, its CPU use measured by this run. */
  readonly vmCpu?: ReadonlyMap<string, number>;
  /** The VMs of `moved` that were moved off an overloaded host (policy/consolidate.ts countsTowardCooldown). */
  readonly relieved?: ReadonlySet<string>;
  /** Seconds of relief times to keep (reliefSecondsKept; default a day). */
  readonly reliefSeconds?: number;
}

/** The state after a run at `now`: its utilisations appended (keeping `keep`), moves and reliefs recorded. */
export function nextState(
  state: BalancerState,
  now: number,
  utilisation: ReadonlyMap<string, number>,
  moved: ReadonlyMap<string, number>,
  keep: number,
  { vmCpu = new Map(), relieved = new Set(), reliefSeconds = RELIEFS_KEPT_SECONDS }: RunExtras = {},
): BalancerState {
  const vmHistory: Record<string, number[]> = {};
  for (const [vm, c] of vmCpu) vmHistory[vm] = [...(state.vmCpu[vm] ?? []), Math.round(c * 100) / 100].slice(-keep);
  const hostUtilisation: Record<string, number[]> = {};
  for (const [host, u] of utilisation) hostUtilisation[host] = [...(state.hostUtilisation[host] ?? []), Math.round(u * 10000) / 10000].slice(-keep);
  const lastMigration: Record<string, number> = { ...state.lastMigration };
  for (const [vm, t] of moved) lastMigration[vm] = t;
  // relief times as of this run (not of the latest move recorded: one from the future would age
  // out every real relief)
  const at = Math.max(now, ...moved.values());
  const reliefs: Record<string, number[]> = {};
  for (const [vm, times] of Object.entries(state.reliefs ?? {})) {
    const kept = reliefsAsOf(times, at, reliefSeconds);
    if (kept.length > 0) reliefs[vm] = kept;
  }
  for (const [vm, t] of moved) if (relieved.has(vm)) reliefs[vm] = [...(reliefs[vm] ?? []), t];
  return { ...state, hostUtilisation, lastMigration, vmCpu: vmHistory, reliefs };
}
