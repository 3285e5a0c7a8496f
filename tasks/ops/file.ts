// The file operation: make a path on a host hold exactly a ManagedFile
// (content, mode, owner, group), the way pyinfra's `files.put` does.
//   fact:  checksum, `stat` and (unless sensitive) the content, for the diff;
//   plan:  nothing when all match; chmod/chown when only those differ;
//          otherwise an atomic write: content -> temp file IN THE SAME
//          DIRECTORY, chown/chmod, validate, back up, `mv -f` over the target.
// A rename is atomic, so a kill at any moment leaves the old file or the new
// one, never half of one; a temp file left by a kill is removed by the next
// write of that path. Sensitive content never reaches a diff or the output.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { createRequire } from 'node:module';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { ParseError } from '../../src/errors.ts';
import type { ManagedFile } from '../../src/render/types.ts';
import { quote, raw, sh } from '../../src/shell.ts';
import type { Change, Fact, Stage, Task, TaskContext } from '../engine/types.ts';

// `diff` is loaded on the first diff, not at start-up (about 15 ms of every
// run; a run with nothing to change never makes a diff).
let diffLib: typeof import('diff') | undefined;
function createTwoFilesPatch(...args: Parameters<typeof import('diff').createTwoFilesPatch>): string {
  diffLib ??= createRequire(import.meta.url)('diff') as typeof import('diff');
  return diffLib.createTwoFilesPatch(...args);
}

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

export const BACKUP_SUFFIX = '.hvmctl-bak';

export function fileFactKey(path: string, sensitive = false): string {
  return `${sensitive ? 'file-meta' : 'file'}:${path}`;
}

/** Read-only: `absent`, `other`, or `stat` line, checksum line and (unless sensitive) base64 content. */
export function fileFact(path: string, sensitive = false): Fact<FileState> {
  const p = quote(path);
  const content = sensitive ? '' : sh` && base64 -w0 < ${raw(p)} && echo`;
  return {
    key: fileFactKey(path, sensitive),
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

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

const octal = (mode: number): string => mode.toString(8).padStart(4, '0');

/** Pure: the change that makes `state` match `file`, or undefined when it already does. */
export function fileChange(file: ManagedFile, state: FileState): Change | undefined {
  if (state.exists && state.kind === 'other') {
    throw new ParseError(`state of ${file.path}`, 'exists but is not a regular file', `move it away by hand; hvmctl only replaces regular files`);
  }
  const same = state.exists && state.sha256 === sha256(file.content);
  const metaSame = state.exists && state.mode === file.mode && state.owner === file.owner && state.group === file.group;
  if (same && metaSame) return undefined;
  const notify = file.notify.length > 0 ? { notify: file.notify } : {};
  if (same && state.exists) {
    return {
      summary: `set ${file.path} to ${octal(file.mode)} ${file.owner}:${file.group} (was ${octal(state.mode)} ${state.owner}:${state.group})`,
      commands: [{ script: sh`chown ${`${file.owner}:${file.group}`} -- ${file.path} && chmod ${octal(file.mode)} -- ${file.path}` }],
      ...notify,
    };
  }
  return {
    summary: `${state.exists ? 'update' : 'create'} ${file.path}${file.sensitive ? ' (content hidden)' : ''}`,
    commands: [{ script: writeScript(file), input: file.content, ...(file.sensitive ? { sensitive: true } : {}) }],
    diff: fileDiff(file, state),
    ...notify,
  };
}

function fileDiff(file: ManagedFile, state: FileState): string {
  if (file.sensitive) return `--- ${file.path}\n+++ ${file.path}\n(sensitive content: diff hidden)\n`;
  const before = state.exists && state.kind === 'file' ? state.content : '';
  if (before === undefined) return `--- ${file.path}\n+++ ${file.path}\n(previous content not gathered)\n`;
  const meta =
    state.exists && state.kind === 'file' && (state.mode !== file.mode || state.owner !== file.owner || state.group !== file.group)
      ? `# mode/owner: ${octal(state.mode)} ${state.owner}:${state.group} -> ${octal(file.mode)} ${file.owner}:${file.group}\n`
      : '';
  return meta + createTwoFilesPatch(file.path, file.path, before, file.content, state.exists ? undefined : '(absent)', undefined);
}

/**
 * The write, as one script reading the content on stdin. Exit 65 when the
 * validation fails, 66 when the content did not arrive whole (in both cases
 * the target is left untouched and the temp file removed).
 */
export function writeScript(file: ManagedFile): string {
  const dir = posix.dirname(file.path);
  const base = posix.basename(file.path);
  const tmpPattern = sh`${dir}/.${base}.hvmctl-tmp.`;
  const validate = file.validate
    ? [
        `if ! { ${file.validate.replaceAll('{}', '"$t"')}\n} 1>&2; then`,
        sh`  echo ${`hvmctl: validation of the new ${file.path} failed (${file.validate}); target left unchanged`} >&2`,
        '  exit 65',
        'fi',
      ]
    : [];
  return [
    'set -e',
    sh`mkdir -p -- ${dir}`,
    `rm -f -- ${tmpPattern}*`,
    `t=$(mktemp -- ${tmpPattern}XXXXXX)`,
    `trap 'rm -f -- "$t"' EXIT`,
    'cat > "$t"',
    ...arrivedWhole(file),
    sh`chown ${`${file.owner}:${file.group}`} -- "$t"`,
    `chmod ${octal(file.mode)} -- "$t"`,
    ...validate,
    sh`if [ -e ${file.path} ]; then cp -pf -- ${file.path} ${file.path + BACKUP_SUFFIX}; fi`,
    sh`mv -f -- "$t" ${file.path}`,
  ].join('\n');
}

/**
 * Checks that stdin delivered the whole content before anything else happens.
 * When hvmctl dies (SIGKILL, a dropped connection) during the upload, sshd
 * closes the script's stdin and `cat` sees an ordinary end of file: without
 * this check the truncated file would be validated (an empty iptables file is
 * valid) and renamed into place. Compared by SHA-256; for sensitive content by
 * its size only, so no digest of a secret is ever in a command line.
 */
export function arrivedWhole(file: ManagedFile): string[] {
  const fail = sh`{ echo ${`hvmctl: ${file.path}: the new content did not arrive whole (connection lost?); target left unchanged`} >&2; exit 66; }`;
  if (file.sensitive) {
    return [`n=$(wc -c < "$t") && [ $n -eq ${Buffer.byteLength(file.content)} ] || ${fail}`];
  }
  return [`h=$(sha256sum < "$t") && [ "\${h%% *}" = ${sha256(file.content)} ] || ${fail}`];
}

export interface FilesTaskSpec {
  readonly name: string;
  readonly tags: readonly string[];
  readonly stage: Stage;
  readonly applies?: (host: HostSpec, inventory: Inventory) => boolean;
  /** The files this task manages on ctx.host (usually a filter over managedFiles). */
  files(ctx: Omit<TaskContext, 'cluster'>): readonly ManagedFile[];
}

/** A task managing a set of files: one fact per file, one change per file that differs. */
export function filesTask(spec: FilesTaskSpec): Task<Record<string, FileState>> {
  return {
    name: spec.name,
    tags: spec.tags,
    stage: spec.stage,
    applies: spec.applies ?? (() => true),
    facts(ctx) {
      return Object.fromEntries(spec.files(ctx).map((f) => [f.path, fileFact(f.path, f.sensitive)]));
    },
    plan(ctx, facts) {
      const files = spec.files(ctx);
      const changes: Change[] = [];
      for (const file of files) {
        const state = facts[file.path];
        if (!state) throw new ParseError(`state of ${file.path}`, 'fact missing');
        const change = fileChange(file, state);
        if (change) changes.push(change);
      }
      const reason =
        files.length === 0
          ? 'no files to manage on this host'
          : files.length === 1
            ? `${files[0]?.path} already up to date`
            : `${files.length} files already up to date (${files.map((f) => f.path).join(', ')})`;
      return { changes, reason };
    },
  };
}
