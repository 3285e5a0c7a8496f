// Fact: a whole file apply manages, as the file operation (tasks/ops/file.ts)
// compares it: `stat` (mode, owner, group), `sha256sum`, and unless the file
// is sensitive its content in base64, for the diff; or absent, or something
// other than a regular file. Key `file:<path>` (`file-meta:<path>` without
// the content).
import { ParseError } from '../../src/errors.ts';
import { quote, raw, sh } from '../../src/shell.ts';
import type { Fact } from '../engine/types.ts';

export type FileState =
  | { readonly exists: false }
  | { readonly exists: true; readonly kind: 'other' }
  | {
      readonly exists: true;
      readonly kind: 'file';
      readonly mode: number;
      readonly owner: string;
      readonly group: string;
      readonly sha256: string;
      /** Undefined when not gathered (sensitive files). */
      readonly content?: string;
    };

/** Read-only: `absent`, `other`, or `stat` line, checksum line and (unless sensitive) base64 content. */
export function fileFact(path: string, sensitive = false): Fact<FileState> {
  const p = quote(path);
  const content = sensitive ? '' : sh` && base64 -w0 < ${raw(p)} && echo`;
  return {
    key: `${sensitive ? 'file-meta' : 'file'}:${path}`,
    command:
      `if [ -f ${p} ]; then stat -L -c '%a %U %G' -- ${p} && sha256sum < ${p}${content}; ` +
      `elif [ -e ${p} ]; then echo other; else echo absent; fi`,
    parse: (result) => parseFileState(path, result.stdout, result.code),
  };
}

export function parseFileState(path: string, stdout: string, code = 0): FileState {
  const lines = stdout.split('\n');
  const first = lines[0]?.trim() ?? '';
  if (code === 0 && first === 'absent') return { exists: false };
  if (code === 0 && first === 'other') return { exists: true, kind: 'other' };
  const stat = /^([0-7]{3,4}) (\S+) (\S+)$/.exec(first);
  const sum = /^([0-9a-f]{64})\b/.exec(lines[1] ?? '');
  if (code !== 0 || !stat || !sum) {
    throw new ParseError(`state of ${path}`, `unexpected output (exit ${code}): ${JSON.stringify(stdout.slice(0, 200))}`, 'check that stat, sha256sum and base64 (coreutils) exist on the host');
  }
  const b64 = lines[2];
  return {
    exists: true,
    kind: 'file',
    mode: Number.parseInt(stat[1] ?? '0', 8),
    owner: stat[2] ?? '',
    group: stat[3] ?? '',
    sha256: sum[1] ?? '',
    // "stat\nsum\n" without content (sensitive), "stat\nsum\nBASE64\n" with it
    ...(b64 !== undefined && lines.length > 3 ? { content: Buffer.from(b64.trim(), 'base64').toString('utf8') } : {}),
  };
}
