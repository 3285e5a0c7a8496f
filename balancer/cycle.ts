// One run: lock -> read state -> collect -> decide -> migrate -> state + log.
// Everything with side effects is injected (libvirt, host files, clock,
// executor, lock), so tests run whole cycles against fakes. The policy gets
// the same inputs whichever executor (live or dry run) is plugged in.
import { collectSnapshot, utilisationOf, type Collected } from './collect/snapshot.ts';
import type { AgentConfig } from './config.ts';
import type { Clock } from './clock.ts';
import type { HostFiles } from './host-files.ts';
import type { Libvirt } from './libvirt.ts';
import { acquireLock, type LockResult } from './lock.ts';
import { appendRunLog, type RunRecord } from './log.ts';
import { writeMetrics } from './metrics.ts';
import { nextFailures, noFailures } from './backoff.ts';
import type { RunProcess } from '../src/process.ts';
import { emptiedHosts, handEmptied } from './on-empty.ts';
import { checkPredictions, predictionsOf } from './prediction.ts';
import type { MigrationExecutor, MigrationResult } from './migrate.ts';
import { clampFutureMoves, effectiveDrained, historyOf, nextState, readDrains, readState, reliefSecondsKept, writeState } from './state-file.ts';
import type { BalancerConfig } from './policy/strategies.ts';
import { countsTowardCooldown } from './policy/consolidate.ts';
import type { History, Plan, Snapshot } from './types.ts';
import { homeHosts, runsKept, type BalancerSpec } from '../src/inventory/types.ts';

export type Decide = (snapshot: Snapshot, config: BalancerConfig, history: History) => Plan;

export interface CycleDeps {
  readonly config: AgentConfig;
  readonly libvirt: Libvirt;
  readonly files: HostFiles;
  readonly clock: Clock;
  readonly decide: Decide;
  readonly executor: MigrationExecutor;
  readonly lock?: (path: string) => LockResult;
  /** Progress lines for a person (stderr / cron log). */
  readonly say?: (line: string) => void;
  /** Runs balancer.consolidate.on_empty for an emptied host; without it nothing is run. */
  readonly exec?: RunProcess;
}

export type CycleOutcome =
  | { readonly ran: false; readonly holder: number; readonly message: string }
  | { readonly ran: true; readonly record: RunRecord; readonly collected: Collected };

/** The inventory's balancer section as decide() takes it: the configured strategy's name, its
 * own settings (fractions for percentages), and the common part. */
export function policyConfig(spec: BalancerSpec, drained: readonly string[]): BalancerConfig {
  const common = { maxMigrationsPerRun: spec.maxMigrationsPerRun, pinned: spec.pinned, drained };
  switch (spec.strategy) {
    case 'home': {
      const h = spec.home;
      return {
        ...common,
        strategy: 'home',
        settings: { home: h.hosts, helpers: h.helpers, high: h.high / 100, low: h.low / 100, overloadWindow: h.overloadWindow, calmWindow: h.calmWindow, cooldown: h.cooldown },
      };
    }
    case 'consolidate': {
      const c = spec.consolidate;
      return {
        ...common,
        strategy: 'consolidate',
        settings: { high: c.high / 100, low: c.low / 100, overloadWindow: c.overloadWindow, calmWindow: c.calmWindow, cooldown: c.cooldown, cooldownMemory: c.cooldownMemory, history: c.history },
      };
    }
  }
}

/** The hosts the strategy balances, each with its high mark (0..1). */
export function balancedHosts(spec: BalancerSpec): { name: string; high: number }[] {
  switch (spec.strategy) {
    case 'home':
      return spec.home.hosts.map((name) => ({ name, high: spec.home.high / 100 }));
    case 'consolidate':
      return spec.consolidate.hosts.map((name) => ({ name, high: spec.consolidate.high / 100 }));
  }
}

export async function runCycle(deps: CycleDeps): Promise<CycleOutcome> {
  const { config, executor } = deps;
  const say = deps.say ?? (() => {});
  // A dry run changes nothing, so it neither waits for nor blocks a real run.
  const lock = executor.dryRun ? undefined : (deps.lock ?? acquireLock)(config.paths.lock);
  if (lock && !lock.acquired) {
    const message = `another run (pid ${lock.holder}) holds the lock ${config.paths.lock}: nothing done`;
    say(message);
    return { ran: false, holder: lock.holder, message };
  }
  // With several homes, one agent acts per run: the one that holds the cluster lease, a lock
  // on the storage they share, which the kernel (or the NFS server, for a host that is gone)
  // releases with its holder.
  const lease = executor.dryRun || config.paths.leader === '' ? undefined : (deps.lock ?? acquireLock)(config.paths.leader, process.pid, config.self);
  if (lease && !lease.acquired) {
    if (lock?.acquired) lock.release();
    const message = `another home's agent (pid ${lease.holder}${lease.owner ? ` on ${lease.owner}` : ''}) holds the cluster lease ${config.paths.leader}: it acts this run, nothing done here`;
    say(message);
    return { ran: false, holder: lease.holder, message };
  }
  try {
    const loaded = await readState(config.paths.state);
    const drained = effectiveDrained(config.balancer.drained, await readDrains(config.paths.drains, loaded.state));
    const collected = await collectSnapshot({ config, libvirt: deps.libvirt, files: deps.files, clock: deps.clock, drained });
    const moved = new Map<string, number>();
    for (const [vm, d] of collected.vms) if (d.metadata?.moved !== undefined) moved.set(vm, d.metadata.moved);
    const clamped = clampFutureMoves(historyOf(loaded.state, moved), collected.snapshot.time, loaded.state.futureMoves);
    for (const w of clamped.warnings) say(w);
    const plan = deps.decide(collected.snapshot, policyConfig(config.balancer, drained), clamped.history);
    for (const reason of plan.reasons) say(reason);

    const results: MigrationResult[] = [];
    for (const m of plan.migrations) {
      const home = collected.snapshot.vms.find((v) => v.name === m.vm)?.home;
      results.push(await executor.execute(m, { home }));
    }

    const measured = new Map<string, number>();
    for (const h of collected.snapshot.hosts) if (h.reachable) measured.set(h.name, utilisationOf(h));
    // What the last run that migrated predicted for this measurement, against what it is.
    const predictionCheck = checkPredictions(loaded.state.predicted ?? {}, measured);
    const emptied = emptiedHosts(plan, results, executor.dryRun);
    const onEmpty = config.balancer.strategy === 'consolidate' ? config.balancer.consolidate.onEmpty : undefined;
    const emptiedNotes = await handEmptied(emptied, onEmpty, deps.exec);
    for (const n of emptiedNotes) say(n);
    const notes = [...(loaded.warning ? [loaded.warning] : []), ...clamped.warnings, ...collected.notes, ...emptiedNotes];
    const record: RunRecord = {
      time: collected.snapshot.time,
      dryRun: executor.dryRun,
      home: config.balancer.strategy === 'home' ? homeHosts(config.balancer) : config.balancer.consolidate.hosts,
      strategy: config.balancer.strategy,
      snapshot: collected.snapshot,
      plan,
      results,
      notes,
      collectMs: collected.elapsedMs,
      predictionCheck,
    };
    if (!executor.dryRun) {
      const utilisation = measured;
      const movedNow = new Map<string, number>();
      const relieved = new Set<string>();
      for (const r of results) {
        if (!r.ok || r.movedAt === undefined) continue;
        movedNow.set(r.migration.vm, r.movedAt);
        if (countsTowardCooldown(r.migration.kind)) relieved.add(r.migration.vm);
      }
      const keep = runsKept(config.balancer);
      const vmCpu = new Map(collected.snapshot.vms.map((v) => [v.name, v.cpuUsed] as const));
      // drain/undrain may have been run meanwhile: keep what is on disk now.
      const fresh = (await readState(config.paths.state)).state;
      const next = nextState(loaded.state, collected.snapshot.time, utilisation, movedNow, keep, {
        vmCpu,
        relieved,
        reliefSeconds: reliefSecondsKept(config.balancer.strategy === 'consolidate' ? config.balancer.consolidate.cooldownMemory : 0),
      });
      // A move that fell back to another host than planned has no prediction for where it landed.
      const predicted = predictionsOf(results.filter((r) => r.ok && r.host === r.migration.to).map((r) => r.migration));
      const lastCheck = predictionCheck.length > 0 ? { time: collected.snapshot.time, rows: predictionCheck } : loaded.state.lastCheck;
      const futureMoves = Object.keys(clamped.futureMoves).length > 0 ? { futureMoves: clamped.futureMoves } : {};
      const failures = nextFailures(loaded.state.failures ?? noFailures, results, collected.snapshot.time);
      const kept = Object.keys(failures.vms).length + Object.keys(failures.destinations).length > 0 ? { failures } : {};
      const { futureMoves: _old, failures: _oldFailures, ...rest } = next;
      await writeState(config.paths.state, { ...rest, drained: fresh.drained, undrained: fresh.undrained, predicted, ...(lastCheck ? { lastCheck } : {}), ...futureMoves, ...kept });
      await appendRunLog(config.paths, record);
      // The metrics are for watching; failing to write them must not undo a run.
      await writeMetrics(config.paths.metrics, { record, self: config.self, balanced: balancedHosts(config.balancer) }).catch((error: unknown) =>
        say(`metrics not written to ${config.paths.metrics}: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
    return { ran: true, record, collected };
  } finally {
    if (lease?.acquired) lease.release();
    if (lock?.acquired) lock.release();
  }
}
