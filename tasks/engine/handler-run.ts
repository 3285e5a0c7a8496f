// Running the handlers a host's changes notified: once each, in the
// playbook's order, at the end of the stage. A handler with `execute` (the
// network restart) gets the host's connection and a probe that opens a NEW
// one; if it cut the old connection, a fresh one is returned for the stages
// that follow. In check mode nothing runs: each is reported "would run".
import type { Connector } from '../../src/connector/connector.ts';
import { CommandError } from '../../src/errors.ts';
import { errorRecord, type ErrorRecord, type TaskStatus } from './result.ts';
import type { Handler, HandlerName, TaskContext } from './types.ts';

export interface HandlerRun {
  readonly handlers: readonly Handler[];
  readonly notified: ReadonlySet<HandlerName>;
  readonly ctx: TaskContext;
  readonly connector: Connector;
  readonly check: boolean;
  readonly aborted: () => boolean;
  /** Opens a new connection to the same host. */
  readonly connect: () => Promise<Connector>;
  /** Called once per handler with its outcome, as it happens. */
  readonly report: (task: string, status: TaskStatus, reason: string, error?: ErrorRecord) => void;
}

/** Returns the connection to use afterwards and the first failure, if any. */
export async function runHandlers(run: HandlerRun): Promise<{ connector: Connector; failure?: ErrorRecord }> {
  let conn = run.connector;
  let failure: ErrorRecord | undefined;
  const fail = (task: string, error: ErrorRecord): void => {
    failure ??= error;
    run.report(task, 'failed', error.message, error);
  };
  const known = run.handlers.filter((h) => run.notified.has(h.name));
  for (const name of run.notified) {
    if (!known.some((h) => h.name === name)) fail(`handler ${name}`, { code: 'E_HANDLER', message: `no handler named '${name}' in the playbook` });
  }
  for (const handler of known) {
    const task = `handler ${handler.name}`;
    if (run.check) {
      run.report(task, 'changed', 'would run');
      continue;
    }
    if (run.aborted()) break;
    try {
      if (handler.execute) {
        const outcome = await handler.execute({
          ...run.ctx,
          connector: conn,
          probe: async (command = 'true') => {
            const fresh = await run.connect();
            try {
              return await fresh.run(command, { timeoutMs: 10_000 });
            } finally {
              await fresh.close().catch(() => undefined);
            }
          },
        });
        // Reported before reconnecting: a host the handler cut off cannot be
        // reconnected to, and its reason (the rollback's bound) must not be lost.
        if (outcome.status === 'failed') fail(task, { code: 'E_HANDLER', message: outcome.reason });
        // The handler may have cut the old connection (a network restart): reconnect for what follows.
        const next = await reconnectIfCut(conn, run.connect).catch((error: unknown) => ({ error }));
        if ('error' in next) {
          if (outcome.status !== 'failed') fail(task, errorRecord(next.error));
          break; // no connection to the host any more: later handlers cannot run
        }
        conn = next;
        if (outcome.status !== 'failed') run.report(task, outcome.status, outcome.reason);
        continue;
      }
      for (const command of handler.commands(run.ctx)) {
        const r = await conn.run(command.script, command.input === undefined ? {} : { input: command.input });
        if (r.code !== 0) throw new CommandError(conn.host, command.script, r.code, r.stdout, r.stderr);
      }
      run.report(task, 'changed', 'ran');
    } catch (error) {
      fail(task, errorRecord(error));
    }
  }
  return failure ? { connector: conn, failure } : { connector: conn };
}

/** The same connection when it still answers, else a new one (throws when the host cannot be reached). */
async function reconnectIfCut(conn: Connector, connect: () => Promise<Connector>): Promise<Connector> {
  const alive = await conn.run('true', { timeoutMs: 5000 }).then((r) => r.code === 0, () => false);
  if (alive) return conn;
  await conn.close().catch(() => undefined);
  return connect();
}
