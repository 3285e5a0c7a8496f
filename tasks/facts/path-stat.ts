// Facts about a path: what is there (type, mode, owner, group), or undefined
// when nothing is; or only whether anything is (`test -e`), which reads
// nothing of it (a private key's existence).
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import { sh } from '../../src/shell.ts';
import type { Fact } from '../engine/types.ts';
import { ABSENT, unexpected } from './result.ts';

export interface PathStat {
  readonly type: 'directory' | 'file' | 'symlink' | 'other';
  readonly mode: number;
  readonly owner: string;
  readonly group: string;
}

export function pathStat(path: string): Fact<PathStat | undefined> {
  return {
    key: `stat:${path}`,
    // -L is not used: a symlink is reported as one, so apply never writes through it by surprise.
    command: sh`if [ -e ${path} ] || [ -L ${path} ]; then stat -c '%F|%a|%U|%G' -- ${path}; else exit ${ABSENT}; fi`,
    parse: (result: RunResult) => parsePathStat(path, result),
  };
}

export function parsePathStat(path: string, result: RunResult): PathStat | undefined {
  if (result.code === ABSENT) return undefined;
  if (result.code !== 0) throw unexpected(`stat of ${path}`, result);
  const m = /^([^|]+)\|([0-7]+)\|([^|]*)\|([^|\n]*)\n?$/.exec(result.stdout);
  if (!m) throw new ParseError(`stat of ${path}`, `unexpected output ${JSON.stringify(result.stdout)}`);
  const kind = m[1] ?? '';
  const type =
    kind === 'directory' ? 'directory' : kind.startsWith('regular') ? 'file' : kind === 'symbolic link' ? 'symlink' : 'other';
  return { type, mode: parseInt(m[2] ?? '0', 8), owner: m[3] ?? '', group: m[4] ?? '' };
}

/** Whether anything is at `path` (`test -e`; nothing of it is read). */
export function pathExists(path: string): Fact<boolean> {
  return {
    key: `exists:${path}`,
    command: sh`test -e ${path}`,
    parse: (result: RunResult) => {
      if (result.code === 0) return true;
      if (result.code === 1) return false;
      throw unexpected(`test -e ${path}`, result);
    },
  };
}
