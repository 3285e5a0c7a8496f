// Small helpers shared by the fact parsers: how a fact's exit status is read.
// A fact command never fails silently: a status it does not expect is a
// ParseError that quotes what the command printed.
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';

/** Exit status our fact scripts use for "the thing is absent" (file, command, pool). */
export const ABSENT = 3;

export function unexpected(what: string, result: RunResult, hint?: string): ParseError {
  const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-2).join(' | ');
  return new ParseError(what, `command exited ${result.code}${said ? `: ${said}` : ''}`, hint);
}
