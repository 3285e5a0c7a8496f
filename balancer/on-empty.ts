// What happens to a host a run has emptied (strategy 'consolidate'): it is
// reported, and handed to the operator's command (balancer.consolidate.on_empty,
// an argv with {host} replaced, no shell) only if one is set. Nothing is ever
// switched off by default. A host counts as emptied only when every migration
// off it succeeded and the run was not a dry run.
import type { RunProcess } from '../src/process.ts';
import type { MigrationResult } from './migrate.ts';
import type { Plan } from './types.ts';

export function emptiedHosts(plan: Plan, results: readonly MigrationResult[], dryRun: boolean): string[] {
  if (dryRun) return [];
  return (plan.emptied ?? []).filter((host) => results.filter((r) => r.migration.from === host).every((r) => r.ok));
}

/** Runs the command for each emptied host; one note per host, success or not. */
export async function handEmptied(hosts: readonly string[], command: readonly string[] | undefined, exec: RunProcess | undefined): Promise<string[]> {
  const notes: string[] = [];
  for (const host of hosts) {
    if (!command || !exec) {
      notes.push(`${host} is empty: it may be switched off (no on_empty command is set, so nothing is done)`);
      continue;
    }
    const argv = command.map((a) => a.replaceAll('{host}', host));
    const r = await exec(argv, { timeoutMs: 60_000 });
    // Only the program is named: its arguments may carry a BMC's credentials, and the notes go
    // to logs any local user can read (balancer.json, which holds them, is root's only).
    const program = `on_empty's ${argv[0]}`;
    notes.push(
      r.code === 0
        ? `${host} is empty: handed to ${program} (exit 0)`
        : `${host} is empty: ${program} failed (${r.timedOut ? 'timed out after 60 s' : `exit ${r.code}`}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n')[0]}` : ''})`,
    );
  }
  return notes;
}
