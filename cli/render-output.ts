// Writing `hvmctl render`'s tree safely: DIR/<host>/<absolute path> for every
// file, where DIR may already hold an older tree, a file in the way, or
// symlinks (planted, or left by a tool). Never follows a symlink below DIR:
// each directory is checked with lstat and created one level at a time, each
// file is written to a new temporary file beside it (O_CREAT|O_EXCL: never
// through a link), given its mode through the open descriptor, flushed, and
// renamed into place, so a full disk or an interrupted run leaves the old
// file or the new one, never a partial one. DIR itself is the operator's
// choice and may be reached through a link; it must be a directory.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { HvmError } from '../src/errors.ts';

/** render -o could not be written (exit 73, EX_CANTCREAT). */
export class RenderOutputError extends HvmError {
  constructor(message: string, hint: string, cause?: unknown) {
    super('E_RENDER_OUTPUT', message, { hint, exitCode: 73, cause });
  }
}

const codeOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

function failure(target: string, error: unknown): RenderOutputError {
  const code = codeOf(error);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new RenderOutputError(`render: no space left writing ${target} (${code}); it was not written`, 'free some space and run again: files written before are whole, none is half-written', error);
  }
  const hint =
    code === 'ENOTDIR'
      ? 'a file is in the way on that path, where a directory is needed: remove it, or render elsewhere'
      : code === 'ENOENT'
        ? 'a directory on that path is missing or is a dangling link (or the file system does not take new files there): render elsewhere'
        : code === 'EROFS'
          ? 'that file system is read-only: render elsewhere'
          : 'check the permissions of the output directory';
  return new RenderOutputError(`render: cannot write ${target} (${code ?? String(error)})`, hint, error);
}

/** Makes `dir` (the -o directory) exist as a directory: each missing level created on its own
 * (a recursive mkdir loops forever where a file system answers ENOENT to every create, as /proc does). */
export async function prepareOutputRoot(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = dir; ; at = path.dirname(at)) {
    const found = await stat(at).then(
      () => true,
      (error: unknown) => {
        if (codeOf(error) === 'ENOENT') return false;
        throw failure(at, error);
      },
    );
    if (found) break;
    missing.unshift(at);
    if (path.dirname(at) === at) break;
  }
  for (const level of missing) {
    await mkdir(level, { mode: 0o755 }).catch((error: unknown) => {
      if (codeOf(error) !== 'EEXIST') throw failure(level, error);
    });
  }
  const s = await stat(dir).catch((error: unknown) => {
    throw failure(dir, error);
  });
  if (!s.isDirectory()) {
    throw new RenderOutputError(`render: -o ${dir} is not a directory`, 'name a directory (it is created if missing); render writes DIR/<host>/<path> below it');
  }
}

/** Creates `relative` below `root` one level at a time; a symlink or a non-directory on the way is an error. */
async function ensureDirectory(root: string, relative: string): Promise<void> {
  let current = root;
  for (const part of relative.split(path.sep).filter(Boolean)) {
    current = path.join(current, part);
    for (;;) {
      const s = await lstat(current).catch((error: unknown) => {
        if (codeOf(error) === 'ENOENT') return undefined;
        throw failure(current, error);
      });
      if (s?.isSymbolicLink()) throw new RenderOutputError(`render: ${current} is a symbolic link; render never follows links below -o`, `remove it (or render into an empty directory)`);
      if (s && !s.isDirectory()) throw new RenderOutputError(`render: ${current} is in the way: it is a file, and a directory is needed here`, 'remove it, or render into an empty directory');
      if (s) break;
      try {
        await mkdir(current, { mode: 0o755 });
        break;
      } catch (error) {
        if (codeOf(error) !== 'EEXIST') throw failure(current, error); // EEXIST: created meanwhile; look again
      }
    }
  }
}

export interface WriteOptions {
  /** Writes the content through the open file (tests inject a failing one). */
  readonly write?: (handle: FileHandle, content: string) => Promise<void>;
}

/** Writes `content` to `root/relative` with `mode`, whole or not at all, following no link. */
export async function writeOutputFile(root: string, relative: string, content: string, mode: number, options: WriteOptions = {}): Promise<string> {
  const target = path.join(root, relative);
  await ensureDirectory(root, path.dirname(relative));
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isSymbolicLink()) throw new RenderOutputError(`render: ${target} is a symbolic link; render never follows links below -o`, 'remove it (or render into an empty directory)');
  if (existing?.isDirectory()) throw new RenderOutputError(`render: ${target} is in the way: it is a directory, and a file is needed here`, 'remove it, or render into an empty directory');
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.hvmctl-${randomBytes(6).toString('hex')}`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, 'wx', mode);
    await (options.write ?? ((h, c) => h.writeFile(c)))(handle, content);
    await handle.chmod(mode);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporary, target);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw error instanceof RenderOutputError ? error : failure(target, error);
  }
  return target;
}
