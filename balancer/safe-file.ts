// Files the balancer writes as root where someone else may also write: the
// state, the drains and the cluster lease live on the storage the hypervisors
// share (NFS, root not squashed), so root on the storage node, or a machine of
// the LAN that takes a hypervisor's address (the hypervisors' bridge guard
// stops their guests), can plant a link there; the metrics directory
// sits under one the exporter's user owns. A write that followed such a link
// would overwrite any file of the balancer's host with text partly read back
// from the share: root for whoever planted it. So:
//   - the directory is made if missing, then must be a real directory (not a
//     link) owned by this user and writable by no one else;
//   - a new file is created with O_EXCL under a random name (never through a
//     link, never one prepared in advance), written, synced, and renamed over
//     the target (rename replaces a link itself, never what it points at);
//   - a file opened in place (a lock) is opened with O_NOFOLLOW and must be a
//     regular file.
import { randomBytes } from 'node:crypto';
import { constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, type Stats } from 'node:fs';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HvmError } from '../src/errors.ts';

const unsafe = (what: string, hint: string): HvmError => new HvmError('E_UNSAFE_PATH', what, { hint });

/** Makes `dir` if missing; refuses one that is a link, not this user's, or writable by others. */
export async function ensureOwnDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  checkOwnDirectory(dir, await lstat(dir));
}

/** ensureOwnDirectory, for a caller that cannot wait (the lock). */
export function ensureOwnDirectorySync(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  checkOwnDirectory(dir, lstatSync(dir));
}

function checkOwnDirectory(dir: string, st: Stats): void {
  const uid = process.getuid?.();
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw unsafe(`${dir} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}; the balancer writes only into a real directory of its own`, `remove it (someone with write access to its parent put it there), then run again`);
  }
  if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw unsafe(
      `${dir} is ${uid !== undefined && st.uid !== uid ? `owned by uid ${st.uid}` : `writable by others (mode ${(st.mode & 0o777).toString(8)})`}; the balancer writes only into a directory no one else can change`,
      `chown root:root and chmod go-w ${dir}, or remove it`,
    );
  }
}

/** Writes `text` to `path` whole: a new file of a random name beside it (O_EXCL: never a link),
 * synced, then renamed over `path`. The directory is checked first (ensureOwnDirectory). */
export async function writeFileSafely(path: string, text: string, mode = 0o644): Promise<void> {
  await ensureOwnDirectory(dirname(path));
  const tmp = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (error) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw error;
  }
}

/** Opens `path` for reading and appending, created 0600 if missing, never through a link, and
 * only a regular file; an existing one is made 0600 (no one else may open it, nor flock it). */
export function openOwnFile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      throw unsafe(`${path} is a symbolic link; the balancer opens only a file of its own there`, 'remove the link, then run again');
    }
    throw error;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) throw unsafe(`${path} is not a regular file`, 'remove it, then run again');
  fchmodSync(fd, 0o600);
  return fd;
}
