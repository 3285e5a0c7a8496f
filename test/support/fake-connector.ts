// A connector for unit tests: records every command (with its input), answers
// from a script, and can play an unreachable host or failing commands.
//   - `facts`: answers by fact key (the batch script built by
//     tasks/engine/facts.ts is taken apart and answered section by section);
//   - `answers`: [regex or substring, result] pairs, first match wins, for
//     plain commands and for fact commands whose key has no answer;
//   - anything else gets `fallback` (default: exit 0, no output).
import type { Connector, RunOptions, RunResult } from '../../src/connector/connector.ts';
import { ConnectError } from '../../src/errors.ts';
import { frameOutput, readBatchScript } from '../../tasks/engine/facts.ts';

export type Answer = RunResult | ((command: string, input: string | undefined) => RunResult);

export interface FakeScript {
  readonly facts?: Readonly<Record<string, Answer>>;
  readonly answers?: readonly (readonly [RegExp | string, Answer])[];
  readonly fallback?: Answer;
  /** connect() throws ConnectError("unreachable") for this host. */
  readonly unreachable?: boolean;
}

export interface Recorded {
  readonly host: string;
  readonly command: string;
  readonly input?: string;
  /** For fact batches: the fact keys it asked for. */
  readonly factKeys?: readonly string[];
}

export const ok = (stdout = '', stderr = ''): RunResult => ({ code: 0, stdout, stderr });
export const fail = (code = 1, stderr = 'failed'): RunResult => ({ code, stdout: '', stderr });

export class FakeConnector implements Connector {
  closed = false;
  constructor(
    readonly host: string,
    private readonly script: FakeScript,
    private readonly log: Recorded[],
  ) {}

  async run(command: string, options: RunOptions = {}): Promise<RunResult> {
    const input = options.input === undefined ? undefined : String(options.input);
    const batch = readBatchScript(command);
    if (batch) {
      this.log.push({ host: this.host, command, input, factKeys: batch.facts.map((f) => f.key) });
      const results = batch.facts.map((f) => {
        const byKey = this.script.facts?.[f.key];
        return byKey !== undefined ? resolve(byKey, f.command, undefined) : this.answer(f.command, undefined);
      });
      return ok(frameOutput(batch.marker, results));
    }
    this.log.push({ host: this.host, command, input });
    return this.answer(command, input);
  }

  private answer(command: string, input: string | undefined): RunResult {
    for (const [pattern, answer] of this.script.answers ?? []) {
      const hit = typeof pattern === 'string' ? command.includes(pattern) : pattern.test(command);
      if (hit) return resolve(answer, command, input);
    }
    return resolve(this.script.fallback ?? ok(), command, input);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function resolve(answer: Answer, command: string, input: string | undefined): RunResult {
  return typeof answer === 'function' ? answer(command, input) : answer;
}

/** A connector factory over per-host scripts, sharing one log, as the runner and CLI take it. */
export class FakeFleet {
  readonly log: Recorded[] = [];
  readonly connects: string[] = [];
  constructor(readonly scripts: Record<string, FakeScript>) {}

  connect = async (host: string): Promise<FakeConnector> => {
    this.connects.push(host);
    const script = this.scripts[host] ?? {};
    if (script.unreachable) throw new ConnectError(host, 'unreachable (fake)', { hint: 'the test made it so' });
    return new FakeConnector(host, script, this.log);
  };

  /** Commands run on a host, fact batches excluded. */
  commands(host: string): string[] {
    return this.log.filter((r) => r.host === host && !r.factKeys).map((r) => r.command);
  }

  batches(host: string): Recorded[] {
    return this.log.filter((r) => r.host === host && r.factKeys);
  }
}
