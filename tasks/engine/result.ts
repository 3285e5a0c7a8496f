// What a run produced, as plain data: one record per task (or handler) and
// host, a recap per host, and the exit code rules of apply and plan. The
// runner fills it, report.ts formats it, `--json` prints it as is.
import { HvmError } from '../../src/errors.ts';
import type { Stage } from './types.ts';

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

export interface ChangeRecord {
  readonly summary: string;
  /** Already redacted for sensitive content. */
  readonly diff?: string;
}

export interface ErrorRecord {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
}

export interface TaskRecord {
  readonly host: string;
  readonly stage: Stage;
  /** Task name, or `handler <name>` for a handler. */
  readonly task: string;
  readonly status: TaskStatus;
  /** Why ok/skipped ("already up to date"), what changed, or the error. */
  readonly reason: string;
  readonly changes: readonly ChangeRecord[];
  readonly handler?: boolean;
  readonly error?: ErrorRecord;
}

export interface HostRecap {
  readonly host: string;
  readonly ok: number;
  readonly changed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly unreachable: number;
  /** Why the host failed or could not be reached. */
  readonly error?: ErrorRecord;
}

export interface RunReport {
  readonly check: boolean;
  readonly hosts: readonly string[];
  readonly results: readonly TaskRecord[];
  readonly recap: readonly HostRecap[];
  /** SIGINT/SIGTERM arrived: no new command was started after it. */
  readonly interrupted: boolean;
  readonly elapsedMs: number;
}

export function errorRecord(error: unknown): ErrorRecord {
  if (error instanceof HvmError) {
    return error.hint ? { code: error.code, message: error.message, hint: error.hint } : { code: error.code, message: error.message };
  }
  return { code: 'E_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

export const EXIT = {
  ok: 0,
  error: 1,
  /** apply: a task failed on some host; plan: something would change (drift). */
  failedOrDrift: 2,
  unreachable: 3,
  interrupted: 130,
} as const;

/**
 * apply: 0 all good, 2 something failed, 3 some host unreachable.
 * plan:  0 nothing would change, 2 drift, 1 something failed, 3 unreachable.
 * Interrupted runs exit 130. Unreachable outranks failed, failed outranks drift.
 */
export function exitCode(report: RunReport, mode: 'apply' | 'plan'): number {
  if (report.interrupted) return EXIT.interrupted;
  if (report.recap.some((r) => r.unreachable > 0)) return EXIT.unreachable;
  const failed = report.recap.some((r) => r.failed > 0);
  if (mode === 'apply') return failed ? EXIT.failedOrDrift : EXIT.ok;
  if (failed) return EXIT.error;
  return report.recap.some((r) => r.changed > 0) ? EXIT.failedOrDrift : EXIT.ok;
}

export function recapOf(hosts: readonly string[], results: readonly TaskRecord[], errors: ReadonlyMap<string, { unreachable: boolean; error: ErrorRecord }>): HostRecap[] {
  return hosts.map((host) => {
    const mine = results.filter((r) => r.host === host);
    const count = (s: TaskStatus): number => mine.filter((r) => r.status === s).length;
    const e = errors.get(host);
    return {
      host,
      ok: count('ok'),
      changed: count('changed'),
      failed: count('failed'),
      skipped: count('skipped'),
      unreachable: e?.unreachable ? 1 : 0,
      ...(e ? { error: e.error } : {}),
    };
  });
}
