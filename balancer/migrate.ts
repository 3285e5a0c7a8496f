// The migration executor: the only code that moves VMs. The live one checks
// that the shared storage answers from both ends, migrates (live, persistent
// on the destination, undefined on the source, killed and aborted after a
// timeout), and then decides from BOTH hosts' libvirt state and job
// information what happened (recover()). Its two rules:
//   - it never destroys a running copy;
//   - it never resumes a source whose destination may have run on the shared disk.
// When it cannot tell, it leaves the VM paused where it is, stops nothing, and
// returns an alert naming the VM, both hosts and what to check. It tries the
// plan's next destination only when the VM is known to run on the source again.
// The dry-run executor only says what it would do: the policy and the cycle
// never know which one they have.
import { DOMAIN_PAUSED, DOMAIN_RUNNING, DOMAIN_SHUTOFF, PAUSED_MIGRATION, PAUSED_STARTING_UP } from './collect/domstats.ts';
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
  /** A human must look: which VM, which hosts, what to check. Nothing was stopped to get here. */
  readonly alert?: string;
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
  /** Why the shared storage does not answer from `host`; undefined when it does. Absent: no check. */
  readonly storageCheck?: (host: string) => Promise<string | undefined>;
  /** How long recovery waits for both ends to answer and for the source's job to end (default 90 s). */
  readonly settleMs?: number;
}

/** One end of a migration as libvirt describes it. */
export type Copy =
  | { readonly kind: 'absent' }
  | { readonly kind: 'off' }
  | { readonly kind: 'running' }
  /** `incoming`: paused for a migration (state reason 2), so it has not run since it was paused. */
  | { readonly kind: 'paused'; readonly forMigration: boolean }
  /** Shutting down or crashed: it ran, and does not run now. */
  | { readonly kind: 'stopped'; readonly state: number }
  | { readonly kind: 'unknown'; readonly why: string };

export interface Ends {
  readonly src: Copy;
  readonly dst: Copy;
  /** The VM was defined on the destination before this migration. */
  readonly dstDefinedBefore: boolean;
}

/** What recovery does, decided from both ends alone (a pure function: see recover()). */
export type Verdict =
  | { readonly outcome: 'moved'; readonly destroySource: boolean; readonly alert?: string }
  | { readonly outcome: 'stayed'; readonly destroyDestination: boolean; readonly undefineDestination: boolean; readonly resumeSource: boolean; readonly note?: string }
  | { readonly outcome: 'alert'; readonly host: string; readonly alert: string };

export function recover(vm: string, from: string, to: string, ends: Ends): Verdict {
  const { src, dst } = ends;
  const check = `check with \`virsh list --all\` on ${from} and ${to}`;
  const alert = (host: string, what: string): Verdict => ({ outcome: 'alert', host, alert: `ALERT ${vm} (${from} -> ${to}): ${what}; nothing was stopped: ${check}` });
  const unknownWhy = (c: Copy): string => (c.kind === 'unknown' ? c.why : '');
  // The destination runs it: the copy the disk now belongs to.
  if (dst.kind === 'running') {
    if (src.kind === 'running') return alert('?', `it RUNS ON BOTH ${from} and ${to}: stop one by hand after checking which one the guest's clients see`);
    if (src.kind === 'paused') return { outcome: 'moved', destroySource: true };
    if (src.kind === 'unknown') {
      return { outcome: 'moved', destroySource: false, alert: `ALERT ${vm} runs on ${to}, and ${from} did not answer (${unknownWhy(src)}): make sure no copy runs there (\`virsh list --all\` on ${from}); a paused one must be destroyed, not resumed` };
    }
    return { outcome: 'moved', destroySource: false };
  }
  // Whether the destination may have run: a definition the migration's Finish step made
  // (persistent), a copy that crashed or shut down, or a copy paused for a reason other
  // than the migration (I/O error, user) means its QEMU may have written the disk.
  const dstMayHaveRun =
    dst.kind === 'stopped' ||
    (dst.kind === 'paused' && !dst.forMigration) ||
    (dst.kind === 'off' && !ends.dstDefinedBefore);
  if (dst.kind === 'unknown') {
    if (src.kind === 'running') return { outcome: 'stayed', destroyDestination: false, undefineDestination: false, resumeSource: false, note: `${to} did not answer (${dst.why}): check that it holds no paused copy of ${vm}` };
    if (src.kind === 'paused') return alert(from, `paused on ${from}, and ${to} did not answer (${dst.why}), so it may run there`);
    return alert('?', `${from} ${src.kind === 'unknown' ? `did not answer (${src.why})` : `has it ${src.kind}`} and ${to} did not answer (${dst.why})`);
  }
  if (dstMayHaveRun) {
    if (src.kind === 'running') {
      return { outcome: 'stayed', destroyDestination: false, undefineDestination: dst.kind === 'off', resumeSource: false, ...(dst.kind === 'paused' || dst.kind === 'stopped' ? { note: `a ${dst.kind} copy of ${vm} is left on ${to}: check it` } : {}) };
    }
    if (src.kind === 'paused') return alert(from, `paused on ${from}; the copy on ${to} is ${describeCopy(dst)} and may have run on the shared disk, so ${from} is not resumed`);
    return alert('?', `it runs nowhere: ${from} ${describeCopy(src)}, ${to} ${describeCopy(dst)}`);
  }
  // The destination never ran: absent, an inactive definition it had before, or an
  // incoming copy still paused for the migration.
  const destroyDestination = dst.kind === 'paused';
  if (src.kind === 'running') return { outcome: 'stayed', destroyDestination, undefineDestination: false, resumeSource: false };
  if (src.kind === 'paused') return { outcome: 'stayed', destroyDestination, undefineDestination: false, resumeSource: true };
  if (src.kind === 'unknown') return alert('?', `${from} did not answer (${src.why}) and ${to} has it ${describeCopy(dst)}`);
  return alert(dst.kind === 'paused' ? to : '?', `it runs nowhere: ${from} ${describeCopy(src)}, ${to} ${describeCopy(dst)}`);
}

export function createLiveExecutor(options: LiveExecutorOptions): MigrationExecutor {
  const { libvirt, timeoutMs, clock } = options;
  const say = options.say ?? (() => {});
  const settleMs = options.settleMs ?? 90_000;
  const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

  const copyOn = async (host: string, vm: string): Promise<Copy> => {
    try {
      const d = (await libvirt.domstats(host)).find((x) => x.name === vm);
      return copyOf(d?.state, d?.reason);
    } catch (e) {
      return { kind: 'unknown', why: errorText(e) };
    }
  };
  const jobOn = (host: string, vm: string): Promise<boolean | 'unknown'> => libvirt.jobActive(host, vm).catch(() => 'unknown' as const);

  /** Both ends once no job runs on the source and both answer, or as they are at the deadline. */
  const settle = async (vm: string, from: string, to: string): Promise<{ src: Copy; dst: Copy }> => {
    const deadline = clock.monotonicMs() + settleMs;
    for (;;) {
      const [src, dst, job] = await Promise.all([copyOn(from, vm), copyOn(to, vm), jobOn(from, vm)]);
      // A source that runs with no job left is safe whatever the destination says: when the
      // destination does not answer, waiting for it would change nothing that is done.
      const settled = job === false && (src.kind === 'running' || (src.kind !== 'unknown' && dst.kind !== 'unknown'));
      if (settled || clock.monotonicMs() >= deadline) return { src, dst };
      // A killed client leaves the source's job to libvirtd: abort it (a no-op when it has just ended).
      if (job === true) await libvirt.abortJob(from, vm).catch(() => undefined);
      await clock.sleep(2000);
    }
  };

  return {
    dryRun: false,
    async execute(m, context) {
      const attempts: Attempt[] = [];
      const destinations = [...new Set([m.to, ...m.fallbacks])].filter((d) => d !== m.from);
      const result = (ok: boolean, host: string, extra: Partial<MigrationResult> = {}): MigrationResult => ({ migration: m, ok, dryRun: false, host, attempts, ...extra });
      for (const to of destinations) {
        if (options.storageCheck) {
          const [atSource, atDestination] = await Promise.all([options.storageCheck(m.from), options.storageCheck(to)]);
          if (atSource !== undefined) {
            attempts.push({ to, ok: false, error: `not migrated: the shared storage does not answer from ${m.from}: ${atSource}` });
            say(`${m.kind} ${m.vm}: ${attempts.at(-1)!.error}`);
            return result(false, m.from);
          }
          if (atDestination !== undefined) {
            attempts.push({ to, ok: false, error: `not migrated: the shared storage does not answer from ${to}: ${atDestination}` });
            say(`${m.kind} ${m.vm}: ${attempts.at(-1)!.error}`);
            continue;
          }
        }
        const before = await copyOn(to, m.vm);
        if (before.kind === 'unknown') {
          attempts.push({ to, ok: false, error: `not migrated: ${to} did not answer (${before.why})` });
          continue;
        }
        if (before.kind !== 'absent' && before.kind !== 'off') {
          attempts.push({ to, ok: false, error: `not migrated: ${to} already has a ${before.kind} copy of ${m.vm}` });
          continue;
        }
        say(`${m.kind} ${m.vm}: ${m.from} -> ${to} (timeout ${Math.round(timeoutMs / 1000)} s)`);
        const outcome = await libvirt.migrate(m.vm, m.from, to, timeoutMs);
        if (outcome.timedOut) await libvirt.abortJob(m.from, m.vm).catch(() => undefined);
        const ends = { ...(await settle(m.vm, m.from, to)), dstDefinedBefore: before.kind === 'off' };
        const verdict = recover(m.vm, m.from, to, ends);
        const failure = outcome.ok
          ? `virsh reported success but ${m.vm} is ${describeCopy(ends.src)} on ${m.from} and ${describeCopy(ends.dst)} on ${to}`
          : (outcome.error ?? 'failed');
        const repair: string[] = [];
        /** Runs one repair and records it; `absent` is recorded instead when the domain was gone already (nothing to do). */
        const doing = async (what: string, action: () => Promise<unknown>, absent?: string): Promise<boolean> =>
          action().then(
            (r) => (repair.push(r === 'absent' && absent !== undefined ? absent : what), true),
            (e: unknown) => (repair.push(`${what} FAILED: ${errorText(e)}`), false),
          );

        if (verdict.outcome === 'moved') {
          if (verdict.destroySource) {
            // A paused source whose destination runs is stale: its memory is older than
            // the disk. Destroy it and drop its definition (the migration's --undefinesource).
            if (await doing(`stopped the stale paused copy on ${m.from}`, () => libvirt.destroy(m.from, m.vm), `the stale copy on ${m.from} was gone already`)) {
              if ((await libvirt.persistent(m.from, m.vm).catch(() => undefined)) && (await libvirt.persistent(to, m.vm).catch(() => undefined))) {
                await doing(`removed its definition on ${m.from}`, () => libvirt.undefine(m.from, m.vm), `its definition on ${m.from} was gone already`);
              }
            }
          }
          const movedAt = Math.round(clock.nowMs() / 1000);
          let error = outcome.ok ? undefined : `${failure}, yet it runs on ${to}`;
          try {
            await libvirt.setMetadata(to, m.vm, { home: context.home, moved: movedAt, reason: m.reason });
          } catch (e) {
            error = [error, `moved, but its metadata was not written: ${errorText(e)}`].filter(Boolean).join('; ');
          }
          attempts.push({ to, ok: true, ...(error ? { error } : {}), ...(repair.length ? { repair: repair.join('; ') } : {}) });
          if (verdict.alert) say(verdict.alert);
          return result(true, to, { movedAt, ...(verdict.alert ? { alert: verdict.alert } : {}) });
        }
        if (verdict.outcome === 'alert') {
          attempts.push({ to, ok: false, error: `${failure}; ${verdict.alert}` });
          say(verdict.alert);
          return result(false, verdict.host, { alert: verdict.alert });
        }
        // Stayed: the destination never ran. Clear what it left, then resume the source if it is paused.
        if (verdict.destroyDestination) await doing(`stopped the incoming copy on ${to}, which never ran`, () => libvirt.destroy(to, m.vm), `the incoming copy on ${to} was gone already`);
        if (verdict.undefineDestination) {
          await doing(`removed the inactive definition the migration left on ${to}`, () => libvirt.undefine(to, m.vm), `the inactive definition the migration left on ${to} was gone already`);
        }
        let running = true;
        if (verdict.resumeSource) running = await doing(`resumed ${m.vm} on ${m.from}`, () => libvirt.resume(m.from, m.vm));
        const note = verdict.note ? `; ${verdict.note}` : '';
        attempts.push({ to, ok: false, error: `${failure}${note}`, ...(repair.length ? { repair: repair.join('; ') } : {}) });
        say(`${m.kind} ${m.vm} to ${to} failed: ${failure}${note}${repair.length ? ` (${repair.join('; ')})` : ''}`);
        if (!running) {
          const alert = `ALERT ${m.vm} (${m.from} -> ${to}): paused on ${m.from} and resuming it failed; nothing else was stopped: check with \`virsh list --all\` on ${m.from} and ${to}`;
          say(alert);
          return result(false, m.from, { alert });
        }
      }
      return result(false, m.from);
    },
  };
}

export function copyOf(state: number | undefined, reason: number | undefined): Copy {
  if (state === undefined) return { kind: 'absent' };
  if (state === DOMAIN_RUNNING || state === 2) return { kind: 'running' }; // 2: blocked on a resource, still running
  // An incoming copy is paused "starting up" (11) until its Prepare step ends, then "migration" (2):
  // neither has run. (Captured: test/fixtures/captured/migration/.)
  if (state === DOMAIN_PAUSED || state === 7) return { kind: 'paused', forMigration: state === DOMAIN_PAUSED && (reason === PAUSED_MIGRATION || reason === PAUSED_STARTING_UP) };
  if (state === DOMAIN_SHUTOFF) return { kind: 'off' };
  return { kind: 'stopped', state };
}

export function describeCopy(c: Copy): string {
  switch (c.kind) {
    case 'absent':
      return 'absent';
    case 'off':
      return 'defined but shut off';
    case 'running':
      return 'running';
    case 'paused':
      return c.forMigration ? 'paused for the migration' : 'paused';
    case 'stopped':
      return c.state === 6 ? 'crashed' : 'shutting down';
    case 'unknown':
      return `unknown (libvirt did not answer: ${c.why})`;
  }
}
