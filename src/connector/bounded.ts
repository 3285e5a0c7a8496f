// Every remote step bounded: a connector wrapper that gives each command
// without a bound of its own the host's bound (--timeout, or the host's
// `timeout:` in the inventory), and turns "no answer within it" into a
// StepTimeoutError naming the command, so the runner marks that host failed
// with the step named while the other hosts go on. Commands that pass their
// own timeoutMs (the network handler's restart, probes) keep it and read the
// result themselves. A backstop timer answers even if the connector's own
// timer cannot fire (a channel that never opens, a slot never freed).
import { ConnectError, StepTimeoutError, summarizeCommand } from '../errors.ts';
import type { Connector, RunOptions, RunResult } from './connector.ts';

/** Extra time the backstop gives the connector to report its own timeout. */
const BACKSTOP_MS = 2000;

export interface BoundedConnector extends Connector {
  readonly boundMs: number;
}

export function boundedConnector(inner: Connector, boundMs: number, describe: (command: string) => string = (c) => summarizeCommand(c)): BoundedConnector {
  const seconds = Math.round(boundMs / 100) / 10;
  return {
    host: inner.host,
    boundMs,
    close: () => inner.close(),
    async run(command: string, options: RunOptions = {}): Promise<RunResult> {
      if (options.timeoutMs !== undefined) return inner.run(command, options);
      let backstop: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        backstop = setTimeout(() => reject(new StepTimeoutError(inner.host, describe(command), seconds)), boundMs + BACKSTOP_MS);
      });
      try {
        const result = await Promise.race([inner.run(command, { ...options, timeoutMs: boundMs }), late]);
        if (result.timedOut) throw new StepTimeoutError(inner.host, describe(command), seconds, { cause: new PartialOutput(result.stdout) });
        return result;
      } finally {
        clearTimeout(backstop);
      }
    },
  };
}

/**
 * `connect()` within `boundMs` (else a ConnectError: the host is unreachable),
 * then bounded. A connection that arrives after the bound is closed, not leaked.
 */
export async function connectBounded(host: string, connect: () => Promise<Connector>, boundMs: number): Promise<BoundedConnector> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectError(host, `connect: no answer within ${boundMs / 1000} s`, { hint: 'check that the host is up and sshd answers' })), boundMs);
  });
  const connecting = connect();
  try {
    return boundedConnector(await Promise.race([connecting, late]), boundMs);
  } catch (error) {
    connecting.then((c) => c.close(), () => undefined).catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** What a timed-out command printed before it was killed (the fact batch reads which fact hung from it). */
export class PartialOutput extends Error {
  constructor(readonly stdout: string) {
    super('output before the timeout');
  }
}
