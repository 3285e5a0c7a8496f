// The migration executor: the only code that moves VMs. The live one migrates
// (live, persistent on the destination, undefined on the source, killed and
// aborted after a timeout), then VERIFIES with libvirt that exactly one copy
// runs; on failure it makes sure the VM runs where it was (resumes a paused
// source copy, stops a stale destination copy) and tries the plan's next
// destination. The dry-run executor only says what it would do: the policy
// and the cycle never know which one they have.
import { DOMAIN_PAUSED, DOMAIN_RUNNING, isActive } from './collect/domstats.ts';
import type { Clock } from './clock.ts';
import type { Libvirt } from './libvirt.ts';
import type { Migration } from './types.ts';

export interface Attempt {
  readonly to: string;
  readonly ok: boolean;
  readonly error?: string;
  /** What was done to keep the VM running once (resume, destroy of a stale copy). */
  readonly repair?: string;
}

export interface MigrationResult {
  readonly migration: Migration;
  readonly ok: boolean;
  readonly dryRun: boolean;
  /** Where the VM runs afterwards (unknown = '?'). */
  readonly host: string;
  readonly attempts: readonly Attempt[];
  /** Unix seconds, when it moved. */
  readonly movedAt?: number;
}

export interface MigrationContext {
  /** The VM's home, kept in its metadata on the destination. */
  readonly home: string | undefined;
}

export interface MigrationExecutor {
  readonly dryRun: boolean;
  execute(migration: Migration, context: MigrationContext): Promise<MigrationResult>;
}

export function createDryRunExecutor(say: (line: string) => void = () => {}): MigrationExecutor {
  return {
    dryRun: true,
    async execute(m) {
      say(`dry run: would ${m.kind} ${m.vm} from ${m.from} to ${m.to}${m.fallbacks.length ? ` (then ${m.fallbacks.join(', ')})` : ''}: ${m.reason}`);
      return { migration: m, ok: false, dryRun: true, host: m.from, attempts: [] };
    },
  };
}

export interface LiveExecutorOptions {
  readonly libvirt: Libvirt;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly say?: (line: string) => void;
}

type Where = number | undefined | 'unknown';

export function createLiveExecutor(options: LiveExecutorOptions): MigrationExecutor {
  const { libvirt, timeoutMs, clock } = options;
  const say = options.say ?? (() => {});
  const stateOn = async (host: string, vm: string): Promise<Where> => {
    try {
      return (await libvirt.domstats(host)).find((d) => d.name === vm)?.state;
    } catch {
      return 'unknown';
    }
  };
  return {
    dryRun: false,
    async execute(m, context) {
      const attempts: Attempt[] = [];
      const destinations = [...new Set([m.to, ...m.fallbacks])].filter((d) => d !== m.from);
      for (const to of destinations) {
        say(`${m.kind} ${m.vm}: ${m.from} -> ${to} (timeout ${Math.round(timeoutMs / 1000)} s)`);
        const outcome = await libvirt.migrate(m.vm, m.from, to, timeoutMs);
        if (outcome.timedOut) await libvirt.abortJob(m.from, m.vm).catch(() => undefined);
        const [src, dst] = await Promise.all([stateOn(m.from, m.vm), stateOn(to, m.vm)]);
        if (dst === DOMAIN_RUNNING && (src === undefined || (typeof src === 'number' && !isActive(src)))) {
          const movedAt = Math.round(clock.nowMs() / 1000);
          let error: string | undefined;
          try {
            await libvirt.setMetadata(to, m.vm, { home: context.home, moved: movedAt, reason: m.reason });
          } catch (e) {
            error = `moved, but its metadata was not written: ${e instanceof Error ? e.message : String(e)}`;
          }
          attempts.push(error ? { to, ok: true, error } : { to, ok: true });
          return { migration: m, ok: true, dryRun: false, host: to, attempts, movedAt };
        }
        const error = outcome.ok ? `virsh reported success but ${m.vm} is ${describe(src)} on ${m.from} and ${describe(dst)} on ${to}` : (outcome.error ?? 'failed');
        if (src === DOMAIN_RUNNING && dst === DOMAIN_RUNNING) {
          // Two running copies: never guess which to stop; stop trying and shout.
          attempts.push({ to, ok: false, error: `${error}; RUNNING ON BOTH ${m.from} and ${to}: stop one by hand` });
          return { migration: m, ok: false, dryRun: false, host: '?', attempts };
        }
        const repair: string[] = [];
        if (src === DOMAIN_PAUSED && dst !== DOMAIN_RUNNING) {
          await libvirt.resume(m.from, m.vm).then(
            () => repair.push(`resumed ${m.vm} on ${m.from}`),
            (e: unknown) => repair.push(`resume on ${m.from} failed: ${e instanceof Error ? e.message : String(e)}`),
          );
        }
        if ((src === DOMAIN_RUNNING || src === DOMAIN_PAUSED) && typeof dst === 'number' && isActive(dst)) {
          await libvirt.destroy(to, m.vm).then(
            () => repair.push(`stopped the stale copy on ${to}`),
            (e: unknown) => repair.push(`stopping the stale copy on ${to} failed: ${e instanceof Error ? e.message : String(e)}`),
          );
        }
        attempts.push(repair.length ? { to, ok: false, error, repair: repair.join('; ') } : { to, ok: false, error });
        say(`${m.kind} ${m.vm} to ${to} failed: ${error}${repair.length ? ` (${repair.join('; ')})` : ''}`);
        if (src !== DOMAIN_RUNNING && src !== DOMAIN_PAUSED) {
          // The VM is not on the source any more (or the source does not answer): do not try elsewhere.
          return { migration: m, ok: false, dryRun: false, host: dst === DOMAIN_RUNNING ? to : '?', attempts };
        }
      }
      return { migration: m, ok: false, dryRun: false, host: m.from, attempts };
    },
  };
}

function describe(state: Where): string {
  if (state === 'unknown') return 'unknown (libvirt did not answer)';
  if (state === undefined) return 'absent';
  return ({ 1: 'running', 2: 'blocked', 3: 'paused', 4: 'shutting down', 5: 'shut off', 6: 'crashed', 7: 'suspended' } as Record<number, string>)[state] ?? `state ${state}`;
}
