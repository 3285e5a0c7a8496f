// After a failed migration the same move is not retried every minute: the VM
// waits, and the destination that failed is avoided for that VM for longer,
// each doubling with every failure in a row (a success clears the VM's
// record). Kept in the state file as [time of the last failure, failures in a
// row]; pure.

/** Seconds a VM waits after its first failed migration; doubles per failure, at most VM_BACKOFF_MAX. */
export const VM_BACKOFF_S = 300;
export const VM_BACKOFF_MAX_S = 6 * 3600;
/** Seconds a destination that failed is avoided for that VM; doubles, at most DEST_BACKOFF_MAX. */
export const DEST_BACKOFF_S = 1800;
export const DEST_BACKOFF_MAX_S = 24 * 3600;

export type Failure = readonly [at: number, count: number];

export interface Failures {
  /** Per VM. */
  readonly vms: Readonly<Record<string, Failure>>;
  /** Per `VM>destination`. */
  readonly destinations: Readonly<Record<string, Failure>>;
}

/**
 * What nextFailures reads of a run's migration results (migrate.ts's
 * MigrationResult has it; named here so this pure module imports nothing of
 * the executor, which would close a cycle through types.ts).
 */
export interface MoveOutcome {
  readonly migration: { readonly vm: string };
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly attempts: readonly { readonly to: string; readonly ok: boolean }[];
}

export const noFailures: Failures = { vms: {}, destinations: {} };

export const pairKey = (vm: string, to: string): string => `${vm}>${to}`;

export function backoffSeconds(f: Failure, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.min(30, f[1] - 1));
}

/** Seconds left before `f` may be tried again at `now` (0: now). */
export function waitLeft(f: Failure | undefined, now: number, base: number, max: number): number {
  if (f === undefined) return 0;
  return Math.max(0, f[0] + backoffSeconds(f, base, max) - now);
}

/** The record after a run's results: failures counted, successes cleared, expired entries dropped. */
export function nextFailures(prev: Failures, results: readonly MoveOutcome[], now: number): Failures {
  const vms: Record<string, Failure> = {};
  const destinations: Record<string, Failure> = {};
  for (const [k, f] of Object.entries(prev.vms)) if (now - f[0] < VM_BACKOFF_MAX_S) vms[k] = f;
  for (const [k, f] of Object.entries(prev.destinations)) if (now - f[0] < DEST_BACKOFF_MAX_S) destinations[k] = f;
  for (const r of results) {
    if (r.dryRun) continue;
    const vm = r.migration.vm;
    if (r.ok) delete vms[vm];
    else vms[vm] = [now, (prev.vms[vm]?.[1] ?? 0) + 1];
    for (const a of r.attempts) {
      const key = pairKey(vm, a.to);
      if (a.ok) delete destinations[key];
      else destinations[key] = [now, (prev.destinations[key]?.[1] ?? 0) + 1];
    }
  }
  return { vms, destinations };
}

/** For `balance status`: each VM and destination still backed off at `now`, with the time left. */
export function describeFailures(f: Failures, now: number): string[] {
  const out: string[] = [];
  for (const [vm, x] of Object.entries(f.vms).sort()) {
    const left = waitLeft(x, now, VM_BACKOFF_S, VM_BACKOFF_MAX_S);
    if (left > 0) out.push(`${vm}: failed to move ${x[1]}x in a row; next try in ${Math.round(left)} s`);
  }
  for (const [key, x] of Object.entries(f.destinations).sort()) {
    const left = waitLeft(x, now, DEST_BACKOFF_S, DEST_BACKOFF_MAX_S);
    const [vm, to] = key.split('>');
    if (left > 0) out.push(`${vm}: avoids ${to} for ${Math.round(left)} s (${x[1]} failed move${x[1] === 1 ? '' : 's'} there in a row)`);
  }
  return out;
}
