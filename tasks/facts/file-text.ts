// Fact: the text of a file, or undefined when it does not exist. Used for
// files apply edits line by line (fstab, authorized_keys, known_hosts), where
// the whole-file task does not fit because other lines belong to someone else.
import type { RunResult } from '../../src/connector/connector.ts';
import { sh } from '../../src/shell.ts';
import type { Fact } from '../engine/types.ts';
import { ABSENT, unexpected } from './result.ts';

export function fileText(path: string): Fact<string | undefined> {
  return {
    key: `text:${path}`,
    command: sh`if [ -f ${path} ]; then cat -- ${path}; else exit ${ABSENT}; fi`,
    parse: (result: RunResult) => parseFileText(path, result),
  };
}

export function parseFileText(path: string, result: RunResult): string | undefined {
  if (result.code === ABSENT) return undefined;
  if (result.code !== 0) throw unexpected(path, result, `check that ${path} is readable by the ssh user`);
  return result.stdout;
}

/** Lines of a text, without the final empty one a trailing newline makes. */
export function textLines(text: string | undefined): string[] {
  if (text === undefined || text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
