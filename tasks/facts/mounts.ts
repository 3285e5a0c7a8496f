// Fact: the mounted file systems, from /proc/mounts (same format on every
// Linux; fields are space-separated with spaces/tabs/newlines/backslashes
// escaped as octal, e.g. `\040`).
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import type { Fact } from '../engine/types.ts';
import { unexpected } from './result.ts';

export interface Mount {
  readonly source: string;
  readonly target: string;
  readonly fstype: string;
  readonly options: string;
}

export const mounts: Fact<readonly Mount[]> = {
  key: 'mounts',
  command: 'cat /proc/mounts',
  parse: (result: RunResult) => {
    if (result.code !== 0) throw unexpected('/proc/mounts', result);
    return parseProcMounts(result.stdout);
  },
};

export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseProcMounts(text: string): Mount[] {
  const out: Mount[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const f = line.split(' ');
    if (f.length < 4) throw new ParseError('/proc/mounts', `line ${i + 1} has ${f.length} fields, expected 6: ${JSON.stringify(line)}`);
    out.push({
      source: unescapeMountField(f[0] ?? ''),
      target: unescapeMountField(f[1] ?? ''),
      fstype: f[2] ?? '',
      options: f[3] ?? '',
    });
  });
  return out;
}

/** The last mount on `target` wins (it hides the earlier ones). */
export function mountAt(list: readonly Mount[], target: string): Mount | undefined {
  const clean = target.length > 1 ? target.replace(/\/+$/, '') : target;
  return [...list].reverse().find((m) => m.target === clean);
}
