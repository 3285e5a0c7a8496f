// The file operation: make a path on a host hold exactly a ManagedFile
// (content, mode, owner, group), the way pyinfra's `files.put` does.
//   fact:  checksum, `stat` and (unless sensitive) the content, for the diff
//          (tasks/facts/file-state.ts);
//   plan:  nothing when all match; chmod/chown when only those differ;
//          otherwise an atomic write: content -> temp file IN THE SAME
//          DIRECTORY, chown/chmod, validate, fsync, back up, `mv -f` over
//          the target.
// A rename is atomic, so a kill at any moment leaves the old file or the new
// one, never half of one; the temp file is fsynced first, so a crash just
// after the rename cannot leave an empty file in its place (ext4 and xfs may
// otherwise commit the rename before the data). A temp file left by a kill is
// removed by the next write of that path. Sensitive content never reaches a
// diff or the output.
// Backups go to /var/backups/hvmctl/<path>.<UTC time>, mode 0600, the newest
// BACKUPS_KEPT per path, never beside the file: tools read whole directories
// as live configuration (`source /etc/network/interfaces.d/*`, /etc/cron.d,
// network-scripts' ifcfg-*), so a `<path>.hvmctl-bak` there was loaded too.
// A task can ask each write to record what to restore if its change is not
// confirmed (`undoDir`, used by the network restart's rollback).
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { createRequire } from 'node:module';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { ParseError } from '../../src/errors.ts';
import type { ManagedFile } from '../../src/render/types.ts';
import { quote, sh } from '../../src/shell.ts';
import type { Change, Fact, HandlerName, Stage, Task, TaskContext } from '../engine/types.ts';
import { type FileState, fileFact } from '../facts/file-state.ts';

/** What the file operation compares with (tasks/facts/file-state.ts). */
export type { FileState } from '../facts/file-state.ts';

// `diff` is loaded on the first diff, not at start-up (about 15 ms of every
// run; a run with nothing to change never makes a diff).
let diffLib: typeof import('diff') | undefined;
function createTwoFilesPatch(...args: Parameters<typeof import('diff').createTwoFilesPatch>): string {
  diffLib ??= createRequire(import.meta.url)('diff') as typeof import('diff');
  return diffLib.createTwoFilesPatch(...args);
}

/** Backups of every managed file, mirroring its path: /var/backups/hvmctl/etc/hosts.20261130T101500.123456789Z. */
export const BACKUP_DIR = '/var/backups/hvmctl';
/** Backups kept per path (the oldest are removed by the next write of that path). */
export const BACKUPS_KEPT = 5;

export interface WriteOptions {
  /** Root of the backups (BACKUP_DIR; tests give a temp dir). */
  readonly backupDir?: string;
  /**
   * Where each write records what restores the path's previous state if the
   * change is never confirmed: `<undoDir><path>` holds the backup's path and
   * the old `mode uid gid` on a second line, or one empty line when the path
   * did not exist. Only the FIRST write since the record was cleared records:
   * the state to go back to is the last confirmed one, however many
   * unconfirmed writes came after it. Whoever confirms (or rolls back)
   * removes the directory.
   */
  readonly undoDir?: string;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A file mode as chmod and a person read it: `0644`. */
export const octal = (mode: number): string => mode.toString(8).padStart(4, '0');

/** Pure: the change that makes `state` match `file`, or undefined when it already does. */
export function fileChange(file: ManagedFile, state: FileState, opts: WriteOptions = {}): Change | undefined {
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
    commands: [{ script: writeScript(file, opts), input: file.content, ...(file.sensitive ? { sensitive: true } : {}) }],
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
export function writeScript(file: ManagedFile, opts: WriteOptions = {}): string {
  const dir = posix.dirname(file.path);
  const base = posix.basename(file.path);
  const tmpPattern = sh`${dir}/.${base}.hvmctl-tmp.`;
  const validate = file.validate
    ? [
        // a subshell: a validator that ends with `exit` must not end the write with it
        `if ! ( ${file.validate.replaceAll('{}', '"$t"')}\n) 1>&2; then`,
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
    // the data on disk before the rename makes it the file (coreutils >= 8.24 fsyncs the named file)
    'sync -- "$t"',
    ...backupScript(file.path, opts),
    sh`mv -f -- "$t" ${file.path}`,
    ...restoreLabel(file.path),
  ].join('\n');
}

/**
 * Backs up `path` (when it exists) to `<backupDir><path>.<UTC time>`, mode
 * 0600 in a 0700 directory, keeps the newest BACKUPS_KEPT (never the one an
 * undo record still names), and writes the undo record when asked. Sets `b`
 * to the backup's path (empty when there was nothing to back up).
 */
export function backupScript(path: string, opts: WriteOptions = {}): string[] {
  const root = opts.backupDir ?? BACKUP_DIR;
  const prefix = root + path;
  const undo = opts.undoDir === undefined ? undefined : opts.undoDir + path;
  return [
    'b=',
    sh`if [ -e ${path} ]; then`,
    sh`  mkdir -p -- ${root} ${posix.dirname(prefix)} && chmod 0700 -- ${root}`,
    sh`  b=${prefix}.$(date -u +%Y%m%dT%H%M%S.%NZ)`,
    sh`  cp -p -- ${path} "$b" && chmod 0600 -- "$b"`,
    ...(undo === undefined
      ? []
      : [sh`  if [ ! -e ${undo} ]; then mkdir -p -- ${posix.dirname(undo)} && printf '%s\\n' "$b" "$(stat -c '%a %u %g' -- ${path})" > ${undo}; fi`]),
    undo === undefined ? '  keep=' : sh`  keep=$(head -n 1 -- ${undo} 2>/dev/null || true)`,
    `  set -- ${quote(prefix)}.[0-9]*Z; k=$(($# - ${BACKUPS_KEPT}))`,
    '  for f; do [ $k -gt 0 ] || break; k=$((k - 1)); [ "$f" = "$keep" ] || rm -f -- "$f"; done',
    ...(undo === undefined ? [] : ['else', sh`  if [ ! -e ${undo} ]; then mkdir -p -- ${posix.dirname(undo)} && echo > ${undo}; fi`]),
    'fi',
  ];
}

/** Where SELinux is enforcing or permissive, give the renamed file its path's label (a temp file keeps the directory's). */
function restoreLabel(path: string): string[] {
  return [sh`if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then restorecon -F -- ${path}; fi`];
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

/** A path an earlier version of hvmctl managed and this one removes (backed up first, like a write). */
export interface RetiredFile {
  readonly path: string;
  /** Why it goes, for the change's summary. */
  readonly why: string;
  readonly notify: readonly HandlerName[];
}

/** Pure: the change that removes a retired file, or undefined when it is already gone. */
export function removalChange(retired: RetiredFile, state: FileState, opts: WriteOptions = {}): Change | undefined {
  if (!state.exists) return undefined;
  if (state.kind === 'other') {
    throw new ParseError(`state of ${retired.path}`, 'exists but is not a regular file', 'move it away by hand; hvmctl only removes regular files');
  }
  return fileRemoval(retired, opts, state.content);
}

/** Backs the file up (and records the undo, when asked), then removes it. */
export function removeScript(path: string, opts: WriteOptions = {}): string {
  return ['set -e', ...backupScript(path, opts), sh`rm -f -- ${path}`].join('\n');
}

export interface FilesTaskSpec {
  readonly name: string;
  readonly tags: readonly string[];
  readonly stage: Stage;
  readonly applies?: (host: HostSpec, inventory: Inventory) => boolean;
  /** The files this task manages on ctx.host (usually a filter over managedFiles). */
  files(ctx: Omit<TaskContext, 'cluster'>): readonly ManagedFile[];
  /** Paths an earlier version managed that must go (removed before the files are written). */
  retired?(ctx: Omit<TaskContext, 'cluster'>): readonly RetiredFile[];
  /**
   * Files the host says this task wrote once (`fact` lists them): those it
   * neither writes nor retires now go too, like retired ones (e.g. a renamed
   * bridge's). Their content is not gathered; the removal's diff says so.
   */
  readonly leftovers?: { readonly fact: Fact<readonly string[]>; readonly why: string; readonly notify: readonly HandlerName[] };
  /** Passed to every write and removal (see WriteOptions.undoDir). */
  readonly undoDir?: string;
}

/** The removal of a regular file; `before` its content where gathered (not for FilesTaskSpec.leftovers). */
export function fileRemoval(retired: RetiredFile, opts: WriteOptions = {}, before?: string): Change {
  return {
    summary: `remove ${retired.path} (${retired.why})`,
    commands: [{ script: removeScript(retired.path, opts) }],
    diff: createTwoFilesPatch(retired.path, retired.path, before ?? '(previous content not gathered)\n', '', undefined, '(absent)'),
    ...(retired.notify.length > 0 ? { notify: retired.notify } : {}),
  };
}

/** A task managing a set of files: one fact per file, one change per file that differs. */
export function filesTask(spec: FilesTaskSpec): Task<Record<string, unknown>> {
  const opts: WriteOptions = spec.undoDir === undefined ? {} : { undoDir: spec.undoDir };
  const stateOf = (facts: Record<string, unknown>, path: string): FileState => {
    const state = facts[path] as FileState | undefined;
    if (!state) throw new ParseError(`state of ${path}`, 'fact missing');
    return state;
  };
  return {
    name: spec.name,
    tags: spec.tags,
    stage: spec.stage,
    applies: spec.applies ?? (() => true),
    facts(ctx) {
      const retired = (spec.retired?.(ctx) ?? []).map((r) => [r.path, fileFact(r.path)] as const);
      const found = spec.leftovers ? [[spec.leftovers.fact.key, spec.leftovers.fact] as const] : [];
      return Object.fromEntries([...found, ...retired, ...spec.files(ctx).map((f) => [f.path, fileFact(f.path, f.sensitive)] as const)]);
    },
    plan(ctx, facts) {
      const files = spec.files(ctx);
      const retired = spec.retired?.(ctx) ?? [];
      const changes: Change[] = [];
      // removals first: a run killed in between leaves the previous layout, not both
      for (const r of retired) {
        const change = removalChange(r, stateOf(facts, r.path), opts);
        if (change) changes.push(change);
      }
      if (spec.leftovers) {
        const { fact, why, notify } = spec.leftovers;
        const found = facts[fact.key] as readonly string[] | undefined;
        if (!found) throw new ParseError(fact.key, 'fact missing');
        const known = new Set([...retired.map((r) => r.path), ...files.map((f) => f.path)]);
        for (const path of found) if (!known.has(path)) changes.push(fileRemoval({ path, why, notify }, opts));
      }
      for (const file of files) {
        const change = fileChange(file, stateOf(facts, file.path), opts);
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
