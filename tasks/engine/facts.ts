// Fact gathering in one round trip: every fact a host needs for a stage goes
// into ONE shell script. Each fact's command runs in its own subshell with
// stdin from /dev/null; its stdout, stderr and exit code are framed by lines
// carrying a random marker, so the output of one fact can never be mistaken
// for another's (a fact printing marker-looking text, no trailing newline or
// binary data included). `batchScript` builds the script, `splitBatch` takes
// the framed output apart, `gatherFacts` runs it through a connector and
// calls every fact's pure `parse`.
import { randomBytes } from 'node:crypto';
import type { Connector, RunResult } from '../../src/connector/connector.ts';
import { PartialOutput } from '../../src/connector/bounded.ts';
import { HvmError, ParseError, StepTimeoutError, summarizeCommand } from '../../src/errors.ts';
import { quote } from '../../src/shell.ts';
import type { Fact } from './types.ts';

const PREFIX = 'HVMCTL-FACT-';

export interface Batch {
  readonly marker: string;
  readonly script: string;
  /** Fact keys in the order of the script's sections. */
  readonly keys: readonly string[];
}

export function newMarker(): string {
  return PREFIX + randomBytes(12).toString('hex');
}

/**
 * The script: for section i, `M b i`, the command's stdout, `\nM e i`, its
 * stderr, `\nM x i CODE`. The newline before each closing frame is added by
 * the script and removed by `splitBatch`, so output without a trailing
 * newline keeps its exact bytes.
 */
export function batchScript(facts: readonly Pick<Fact<unknown>, 'key' | 'command'>[], marker = newMarker()): Batch {
  const m = quote(marker);
  const lines = [
    `__hv_e=$(mktemp 2>/dev/null) || __hv_e=/dev/null`,
  ];
  facts.forEach((fact, i) => {
    lines.push(
      `: hvmctl-fact ${quote(fact.key)}`,
      `printf '%s b ${i}\\n' ${m}`,
      `( ${fact.command}\n) </dev/null 2>"$__hv_e"; __hv_c=$?`,
      `printf '\\n%s e ${i}\\n' ${m}`,
      // a test, not a process: most facts write nothing on stderr, and each `cat` cost a fork
      `[ -s "$__hv_e" ] && cat "$__hv_e" 2>/dev/null`,
      `printf '\\n%s x ${i} %s\\n' ${m} "$__hv_c"`,
    );
  });
  lines.push(`[ "$__hv_e" = /dev/null ] || rm -f "$__hv_e"`);
  return { marker, script: lines.join('\n'), keys: facts.map((f) => f.key) };
}

/** Inverse of `batchScript`, for fakes and tests: the marker and each section's key and command. */
export function readBatchScript(script: string): { marker: string; facts: { key: string; command: string }[] } | undefined {
  const marker = /printf '%s b 0\\n' (HVMCTL-FACT-[0-9a-f]+)/.exec(script)?.[1];
  if (!marker) return undefined;
  const facts: { key: string; command: string }[] = [];
  const re = /^: hvmctl-fact (.*)\nprintf '%s b \d+\\n' \S+\n\( ([\s\S]*?)\n\) <\/dev\/null 2>"\$__hv_e"; __hv_c=\$\?$/gm;
  for (const match of script.matchAll(re)) {
    facts.push({ key: unquote(match[1] ?? ''), command: match[2] ?? '' });
  }
  return { marker, facts };
}

/** What the script prints for these results (used by fakes; the real shell prints exactly this). */
export function frameOutput(marker: string, results: readonly RunResult[]): string {
  return results
    .map((r, i) => `${marker} b ${i}\n${r.stdout}\n${marker} e ${i}\n${r.stderr}\n${marker} x ${i} ${r.code}\n`)
    .join('');
}

/** Splits the framed output into one RunResult per section. Throws ParseError when a frame is missing. */
export function splitBatch(batch: Pick<Batch, 'marker' | 'keys'>, output: string): Map<string, RunResult> {
  const results = new Map<string, RunResult>();
  let pos = 0;
  batch.keys.forEach((key, i) => {
    const begin = `${batch.marker} b ${i}\n`;
    const start = output.indexOf(begin, pos);
    if (start < 0) throw missing(key, 'start');
    const outStart = start + begin.length;
    const errFrame = `\n${batch.marker} e ${i}\n`;
    const outEnd = output.indexOf(errFrame, outStart);
    if (outEnd < 0) throw missing(key, 'stderr');
    const errStart = outEnd + errFrame.length;
    const exitFrame = `\n${batch.marker} x ${i} `;
    const errEnd = output.indexOf(exitFrame, errStart);
    if (errEnd < 0) throw missing(key, 'exit code');
    const codeStart = errEnd + exitFrame.length;
    const codeEnd = output.indexOf('\n', codeStart);
    const codeText = output.slice(codeStart, codeEnd < 0 ? undefined : codeEnd);
    if (!/^\d+$/.test(codeText)) throw missing(key, 'exit code');
    results.set(key, {
      code: Number(codeText),
      stdout: output.slice(outStart, outEnd),
      stderr: output.slice(errStart, errEnd),
    });
    pos = codeEnd < 0 ? output.length : codeEnd + 1;
  });
  return results;
}

function missing(key: string, what: string): ParseError {
  return new ParseError(
    `fact batch output`,
    `no ${what} frame for fact '${key}' (the batch was cut short)`,
    'the host may have killed the command (out of memory, timeout); run again, or run the fact command by hand',
  );
}

export class FactError extends HvmError {
  constructor(host: string, key: string, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super('E_FACT', `${host}: fact '${key}': ${message}`, {
      hint: cause instanceof HvmError && cause.hint ? cause.hint : 'run the fact command on the host by hand to see its output',
      cause,
    });
  }
}

/**
 * Gathers facts (deduplicated by key) in one command and parses each.
 * Returns values by key; a fact whose parser throws becomes a FactError
 * (with `lenient`, it is left out of the result instead).
 */
export async function gatherFacts(
  connector: Connector,
  facts: readonly Fact<unknown>[],
  options: { readonly lenient?: boolean } = {},
): Promise<Map<string, unknown>> {
  const unique = new Map<string, Fact<unknown>>();
  for (const fact of facts) if (!unique.has(fact.key)) unique.set(fact.key, fact);
  const values = new Map<string, unknown>();
  if (unique.size === 0) return values;
  const list = [...unique.values()];
  const batch = batchScript(list);
  const result = await connector.run(batch.script).catch((error: unknown) => {
    throw namedTimeout(error, batch, list);
  });
  let raw: Map<string, RunResult>;
  try {
    raw = splitBatch(batch, result.stdout);
  } catch (error) {
    const detail = `exit ${result.code}${result.stderr.trim() ? `, stderr: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
    const keys = list.length > 3 ? `${list.slice(0, 3).map((f) => f.key).join(', ')} and ${list.length - 3} more` : list.map((f) => f.key).join(', ');
    throw new FactError(connector.host, keys, new ParseError('fact batch output', `${error instanceof Error ? error.message : String(error)} (${detail})`, 'the host may have killed the command (out of memory, timeout) or its shell failed; run again, or run the fact command by hand'));
  }
  for (const fact of list) {
    const r = raw.get(fact.key);
    if (!r) throw new FactError(connector.host, fact.key, 'no output');
    try {
      values.set(fact.key, fact.parse(r));
    } catch (error) {
      // lenient (prefetch): leave it out; it is asked for again at its stage
      if (!options.lenient) throw new FactError(connector.host, fact.key, error);
    }
  }
  return values;
}

/** The fact a timed-out batch was in: the last one it started and did not finish. */
export function unfinishedFact(batch: Pick<Batch, 'marker' | 'keys'>, stdout: string): string | undefined {
  let last: string | undefined;
  batch.keys.forEach((key, i) => {
    if (stdout.includes(`${batch.marker} b ${i}\n`) && !stdout.includes(`\n${batch.marker} x ${i} `)) last = key;
  });
  return last;
}

/** A batch's StepTimeoutError names the fact that hung (and its command) instead of the whole batch script. */
function namedTimeout(error: unknown, batch: Batch, list: readonly Fact<unknown>[]): unknown {
  if (!(error instanceof StepTimeoutError)) return error;
  const key = error.cause instanceof PartialOutput ? unfinishedFact(batch, error.cause.stdout) : undefined;
  const fact = list.find((f) => f.key === key);
  const step = fact ? `reading fact '${fact.key}' (${summarizeCommand(fact.command, 80)})` : `reading ${list.length} fact(s) in one batch`;
  return new StepTimeoutError(error.host, step, error.seconds, { ...(error.hint ? { hint: error.hint } : {}), cause: error });
}

function unquote(text: string): string {
  if (text.startsWith("'") && text.endsWith("'")) return text.slice(1, -1).replace(/'\\''/g, "'");
  return text;
}
