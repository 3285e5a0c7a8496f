// Fact: where a command is (`command -v`), undefined when the host has none.
import type { RunResult } from '../../src/connector/connector.ts';
import { sh } from '../../src/shell.ts';
import type { Fact } from '../engine/types.ts';
import { unexpected } from './result.ts';

export function commandPath(name: string): Fact<string | undefined> {
  return {
    key: `command:${name}`,
    command: sh`command -v ${name}`,
    parse: (result: RunResult) => parseCommandPath(name, result),
  };
}

export function parseCommandPath(name: string, result: RunResult): string | undefined {
  // POSIX: `command -v` exits >0 and prints nothing when the name is unknown (dash: 127, bash: 1).
  if (result.code !== 0 && result.stdout.trim() === '') return undefined;
  const path = result.stdout.trim();
  if (result.code !== 0 || path.includes('\n')) throw unexpected(`command -v ${name}`, result);
  return path;
}
