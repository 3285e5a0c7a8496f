// The runner: connect -> gather facts -> plan -> execute -> handlers -> recap.
// Stages run in `stageOrder` (storage before hypervisors, the balancer last);
// inside a stage hosts run in parallel, at most `forks` at a time, and each
// host gathers ALL the facts its tasks of that stage need in ONE round trip.
// A host that fails stops there; the others go on. Handlers notified by the
// changes a host executed in a stage run once, at the end of that stage
// (the storage node's re-export must happen before the hypervisors mount),
// and also when a later task of that host failed, so a written file is never
// left without its reload. After each stage the tasks' `publish` facts are
// gathered and shared through ClusterFacts.
//
// Round trips: right after connecting, each host gathers in ONE command every
// fact any of its tasks (and publish lists) will ask for, plus the operator's
// address. Those values stay valid while nothing has been executed on that
// host; the first change or handler executed there empties the host's cache,
// and later stages gather what they need again (one command per stage). So a
// run with nothing to change costs one connection and one command per host.
//
// Bounds: with `timeoutMs`, every connection is a bounded connector
// (src/connector/bounded.ts): each remote command (a fact batch, a change's
// command, a handler's) that gets no answer within the host's bound fails
// that host with the step named, and the stage goes on for the others (the
// stage barrier waits at most one bound per step for a hung host).
import { connectBounded } from '../../src/connector/bounded.ts';
import type { Connector } from '../../src/connector/connector.ts';
import { CommandError, ConnectError, HvmError } from '../../src/errors.ts';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { operatorFact } from '../facts/ssh-client.ts';
import { gatherFacts } from './facts.ts';
import { runHandlers } from './handler-run.ts';
import { errorRecord, recapOf, type ErrorRecord, type RunReport, type TaskRecord } from './result.ts';
import type { Change, ClusterFacts, Fact, Handler, HandlerName, Stage, Task, TaskContext } from './types.ts';
import { stageOrder } from './types.ts';

export interface RunEvents {
  stage?(stage: Stage, hosts: readonly string[]): void;
  result?(record: TaskRecord): void;
  unreachable?(host: string, error: ErrorRecord): void;
  /** A host finished its part of a stage. */
  hostDone?(stage: Stage, host: string, done: number, total: number): void;
}

export interface RunnerOptions {
  readonly inventory: Inventory;
  /** Every task of the playbook; `tags` selects among them. */
  readonly tasks: readonly Task[];
  readonly handlers: readonly Handler[];
  /** Hosts to work on (already filtered by --limit). */
  readonly hosts: readonly HostSpec[];
  /** Opens a connection; throws ConnectError for an unreachable host. Also used for the handlers' reconnect probe. */
  connect(host: HostSpec): Promise<Connector>;
  readonly check?: boolean;
  readonly forks?: number;
  /** Tasks to run (already filtered by --tags); default all. Publish facts come from every task. */
  readonly selected?: ReadonlySet<Task>;
  readonly signal?: AbortSignal;
  readonly events?: RunEvents;
  readonly now?: () => number;
  /** The bound of every remote step on this host, in ms (undefined: unbounded, for tests of other things). */
  readonly timeoutMs?: (host: HostSpec) => number | undefined;
}

interface HostState {
  readonly spec: HostSpec;
  connector?: Connector;
  operatorAddress?: string;
  /** Fact values by key, valid until something is executed on the host. */
  readonly cache: Map<string, unknown>;
  /** Check mode: some task would change this host (later facts may not be readable yet). */
  pending?: boolean;
  /** Set when the host is unreachable or failed: nothing more runs on it. */
  stop?: { unreachable: boolean; error: ErrorRecord };
}

class ClusterFactStore implements ClusterFacts {
  private readonly byHost = new Map<string, Map<string, unknown>>();
  get<T>(host: string, fact: Fact<T>): T | undefined {
    return this.byHost.get(host)?.get(fact.key) as T | undefined;
  }
  set(host: string, values: Map<string, unknown>): void {
    const mine = this.byHost.get(host) ?? new Map<string, unknown>();
    for (const [k, v] of values) mine.set(k, v);
    this.byHost.set(host, mine);
  }
}

export async function runPlaybook(opts: RunnerOptions): Promise<RunReport> {
  const now = opts.now ?? Date.now;
  const started = now();
  const check = opts.check ?? false;
  const forks = Math.max(1, opts.forks ?? 10);
  const cluster = new ClusterFactStore();
  const results: TaskRecord[] = [];
  const states = opts.hosts.map((spec): HostState => ({ spec, cache: new Map() }));
  const aborted = (): boolean => opts.signal?.aborted ?? false;
  const record = (r: TaskRecord): void => {
    results.push(r);
    opts.events?.result?.(r);
  };
  const isSelected = (t: Task): boolean => opts.selected?.has(t) ?? true;
  /** A connection whose every step is bounded; connecting itself too (a connect that never returns is unreachable). */
  const connect = async (spec: HostSpec): Promise<Connector> => {
    const ms = opts.timeoutMs?.(spec);
    return ms === undefined ? opts.connect(spec) : connectBounded(spec.name, () => opts.connect(spec), ms);
  };

  const ctxOf = (s: HostState): TaskContext => ({
    inventory: opts.inventory,
    host: s.spec,
    cluster,
    check,
    ...(s.operatorAddress ? { operatorAddress: s.operatorAddress } : {}),
  });

  // Connect every host (bounded) and prefetch, in one command, the operator's
  // address and every fact the run will ask this host for.
  await forEachAtMost(states, forks, aborted, async (s) => {
    try {
      s.connector = await connect(s.spec);
    } catch (error) {
      s.stop = { unreachable: true, error: errorRecord(error) };
      opts.events?.unreachable?.(s.spec.name, s.stop.error);
      return;
    }
    try {
      // Lenient: before the packages stage some later facts cannot be read yet
      // (their tool is not installed); those are asked for again at their stage.
      const values = await gatherFacts(s.connector, [operatorFact, ...prefetchList(s)], { lenient: true });
      for (const [k, v] of values) s.cache.set(k, v);
      const addr = values.get(operatorFact.key) as string | undefined;
      if (addr) s.operatorAddress = addr;
    } catch (error) {
      fail(s, stageOrder[0] ?? 'packages', 'gather facts', error);
    }
  });

  for (const stage of stageOrder) {
    if (aborted()) break;
    const stageTasks = opts.tasks.filter((t) => t.stage === stage);
    const runnable = stageTasks.filter(isSelected);
    const live = (): HostState[] => states.filter((s) => !s.stop);
    const workers = live().filter((s) => runnable.some((t) => t.applies(s.spec, opts.inventory)));
    if (workers.length > 0) {
      opts.events?.stage?.(stage, workers.map((s) => s.spec.name));
      let done = 0;
      await forEachAtMost(workers, forks, aborted, async (s) => {
        await runStageOnHost(s, stage, runnable);
        done += 1;
        opts.events?.hostDone?.(stage, s.spec.name, done, workers.length);
      });
    }
    // Publish facts: from every task of the stage (tags do not matter: later
    // stages may need them), on every host still going.
    const publishers = stageTasks.filter((t) => t.publish);
    if (publishers.length > 0 && !aborted()) {
      await forEachAtMost(live(), forks, aborted, async (s) => {
        const base = { inventory: opts.inventory, host: s.spec, check, ...(s.operatorAddress ? { operatorAddress: s.operatorAddress } : {}) };
        const facts = publishers.filter((t) => t.applies(s.spec, opts.inventory)).flatMap((t) => t.publish?.(base) ?? []);
        if (facts.length === 0 || !s.connector) return;
        try {
          const values = await cachedFacts(s, s.connector, facts);
          cluster.set(s.spec.name, new Map(facts.map((f) => [f.key, values.get(f.key)])));
        } catch (error) {
          fail(s, stage, 'publish facts', error);
        }
      });
    }
  }

  await Promise.all(states.map((s) => s.connector?.close().catch(() => undefined)));
  const errors = new Map(states.flatMap((s) => (s.stop ? [[s.spec.name, s.stop] as const] : [])));
  return {
    check,
    hosts: states.map((s) => s.spec.name),
    results,
    recap: recapOf(
      states.map((s) => s.spec.name),
      results,
      errors,
    ),
    interrupted: aborted(),
    elapsedMs: now() - started,
  };

  /** Every fact this host's tasks and publish lists ask for, as far as they can say before the run. */
  function prefetchList(s: HostState): Fact<unknown>[] {
    const ctx = ctxOf(s);
    const out: Fact<unknown>[] = [];
    for (const t of opts.tasks) {
      if (!t.applies(s.spec, opts.inventory)) continue;
      try {
        if (isSelected(t)) out.push(...Object.values(t.facts(ctx) as Record<string, Fact<unknown>>));
        out.push(...(t.publish?.(ctx) ?? []));
      } catch {
        // a task whose fact list depends on what earlier stages publish: asked for at its stage
      }
    }
    return out;
  }

  /** Values for `facts`, from the host's cache where valid; the rest in one round trip. */
  async function cachedFacts(s: HostState, conn: Connector, facts: readonly Fact<unknown>[], lenient = false): Promise<Map<string, unknown>> {
    const missing = facts.filter((f) => !s.cache.has(f.key));
    const fresh = missing.length > 0 ? await gatherFacts(conn, missing, { lenient }) : new Map<string, unknown>();
    for (const [k, v] of fresh) s.cache.set(k, v);
    return new Map(facts.filter((f) => s.cache.has(f.key)).map((f) => [f.key, s.cache.get(f.key)]));
  }

  function fail(s: HostState, stage: Stage, task: string, error: unknown, extra: Partial<TaskRecord> = {}): void {
    const e = errorRecord(error);
    s.stop = { unreachable: error instanceof ConnectError, error: e };
    record({ host: s.spec.name, stage, task, status: 'failed', reason: e.message, changes: [], error: e, ...extra });
  }

  async function runStageOnHost(s: HostState, stage: Stage, runnable: readonly Task[]): Promise<void> {
    const conn = s.connector;
    if (!conn) return;
    const ctx = ctxOf(s);
    const tasks = runnable.filter((t) => t.applies(s.spec, opts.inventory));
    const notified = new Set<HandlerName>();

    // 1. facts: one round trip for the whole stage
    const wanted = new Map<Task, Record<string, Fact<unknown>>>();
    let values: Map<string, unknown>;
    try {
      for (const t of tasks) wanted.set(t, t.facts(ctx) as Record<string, Fact<unknown>>);
      // In check mode, after this host would already have changed something, a
      // fact may be unreadable only because that change is not made (a tool
      // not installed yet): such tasks are skipped with that reason.
      values = await cachedFacts(s, conn, [...wanted.values()].flatMap((f) => Object.values(f)), check && s.pending === true);
    } catch (error) {
      fail(s, stage, 'gather facts', error);
      return;
    }

    // 2. plan, print, execute, task by task
    for (const task of tasks) {
      if (aborted()) break;
      const unread = Object.values(wanted.get(task) ?? {}).filter((f) => !values.has(f.key));
      if (unread.length > 0) {
        record({
          host: s.spec.name,
          stage,
          task: task.name,
          status: 'skipped',
          reason: `facts unreadable until the changes above are made (${unread.map((f) => f.key).join(', ')})`,
          changes: [],
        });
        continue;
      }
      const facts = Object.fromEntries(Object.entries(wanted.get(task) ?? {}).map(([name, f]) => [name, values.get(f.key)]));
      let planned;
      try {
        planned = task.plan(ctx, facts);
      } catch (error) {
        fail(s, stage, task.name, error);
        break;
      }
      if (planned.changes.length === 0) {
        record({ host: s.spec.name, stage, task: task.name, status: planned.skipped ? 'skipped' : 'ok', reason: planned.reason, changes: [] });
        continue;
      }
      const changes = planned.changes.map(changeRecord);
      if (check) {
        s.pending = true;
        for (const c of planned.changes) for (const h of c.notify ?? []) notified.add(h);
        record({ host: s.spec.name, stage, task: task.name, status: 'changed', reason: `would ${summaries(planned.changes)}`, changes });
        continue;
      }
      s.cache.clear();
      const failure = await executeChanges(conn, planned.changes, notified);
      if (failure) {
        fail(s, stage, task.name, failure, { changes });
        break;
      }
      record({ host: s.spec.name, stage, task: task.name, status: 'changed', reason: summaries(planned.changes), changes });
    }

    // 3. handlers notified in this stage, once each, even after a failure
    if (notified.size > 0) {
      if (!check) s.cache.clear();
      const after = await runHandlers({
        handlers: opts.handlers,
        notified,
        ctx,
        connector: conn,
        check,
        aborted,
        connect: () => connect(s.spec),
        report: (task, status, reason, error) =>
          record({ host: s.spec.name, stage, task, handler: true, status, reason, changes: [], ...(error ? { error } : {}) }),
      });
      s.connector = after.connector;
      if (after.failure) s.stop ??= { unreachable: false, error: after.failure };
    }
  }

  async function executeChanges(conn: Connector, changes: readonly Change[], notified: Set<HandlerName>): Promise<unknown> {
    for (const change of changes) {
      for (const command of change.commands) {
        if (aborted()) return new HvmError('E_INTERRUPTED', 'interrupted before this change', { hint: 'run apply again to finish' });
        try {
          const r = await conn.run(command.script, command.input === undefined ? {} : { input: command.input });
          if (r.code !== 0) return new CommandError(conn.host, command.script, r.code, r.stdout, r.stderr);
        } catch (error) {
          return error;
        }
      }
      for (const h of change.notify ?? []) notified.add(h);
    }
    return undefined;
  }
}

function changeRecord(change: Change): { summary: string; diff?: string } {
  const sensitive = change.commands.some((c) => c.sensitive);
  if (change.diff === undefined) return { summary: change.summary };
  return { summary: change.summary, diff: sensitive ? '(sensitive content: diff hidden)\n' : change.diff };
}

function summaries(changes: readonly Change[]): string {
  return changes.map((c) => c.summary).join('; ');
}

/** Runs `work` over `items`, at most `limit` at a time; stops starting new ones once `stop()` says so. */
export async function forEachAtMost<T>(items: readonly T[], limit: number, stop: () => boolean, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !stop()) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
