// The balancer writes as root into directories others can write: the state,
// drains and cluster lease on the NFS share the hypervisors use (root not
// squashed), the metrics under a directory of the exporter's user. A link
// planted there must never turn a write into an overwrite of a file of the
// balancer's host (with text partly read back from the share: root for
// whoever planted it), and a lock must not be one anybody can hold.
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock } from '../../balancer/lock.ts';
import { ensureOwnDirectory, openOwnFile, writeFileSafely } from '../../balancer/safe-file.ts';
import { emptyState, writeDrains, writeState } from '../../balancer/state-file.ts';
import { closeSync } from 'node:fs';

let dir: string;
let victim: string;
const VICTIM = 'root:x:0:0:root:/root:/bin/bash\n';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hvmctl-safe-'));
  victim = join(dir, 'victim');
  await writeFile(victim, VICTIM);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writing a file where someone else can plant a link', () => {
  it('a link at the file itself is replaced by the file, the file it pointed at untouched', async () => {
    const share = join(dir, 'share');
    await mkdir(share);
    await symlink(victim, join(share, 'state.json'));
    await writeState(join(share, 'state.json'), emptyState);
    expect(await readFile(victim, 'utf8')).toBe(VICTIM);
    expect((await lstat(join(share, 'state.json'))).isFile()).toBe(true);
    await symlink(victim, join(share, 'drains.json'));
    await writeDrains(join(share, 'drains.json'), { drained: ['kvmnode2'], undrained: [] });
    expect(await readFile(victim, 'utf8')).toBe(VICTIM);
    expect(JSON.parse(await readFile(join(share, 'drains.json'), 'utf8'))).toEqual({ drained: ['kvmnode2'], undrained: [] });
  });

  it('the temporary file has a name no one can prepare: links at every pid-named candidate are never written through', async () => {
    const share = join(dir, 'share');
    await mkdir(share);
    // the old name was `${path}.${pid}.tmp`, and the lease file showed the pid
    await symlink(victim, join(share, `state.json.${process.pid}.tmp`));
    await writeState(join(share, 'state.json'), emptyState);
    expect(await readFile(victim, 'utf8')).toBe(VICTIM);
    // nothing left behind but the planted link and the file
    expect((await readdir(share)).sort()).toEqual(['state.json', `state.json.${process.pid}.tmp`]);
  });

  it('a directory that is a link, or that others can write, is refused before anything is written', async () => {
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere);
    await symlink(elsewhere, join(dir, 'balancer'));
    await expect(writeFileSafely(join(dir, 'balancer', 'state.json'), '{}')).rejects.toMatchObject({ code: 'E_UNSAFE_PATH', message: expect.stringMatching(/balancer is a symbolic link/) });
    expect(await readdir(elsewhere)).toEqual([]);
    const open = join(dir, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    await expect(ensureOwnDirectory(open)).rejects.toMatchObject({ message: expect.stringMatching(/writable by others \(mode 777\)/) });
  });
});

describe('a lock file', () => {
  it('is never opened through a link: the cluster lease on the share cannot truncate a host file', async () => {
    const share = join(dir, 'share');
    await mkdir(share);
    await symlink(victim, join(share, 'leader.lock'));
    expect(() => acquireLock(join(share, 'leader.lock'), 4242, 'kvmnode1')).toThrow(/leader\.lock is a symbolic link/);
    expect(await readFile(victim, 'utf8')).toBe(VICTIM);
  });

  it('is 0600, an old 0644 one too: no one else can open it, so no one else can hold it', async () => {
    const lock = join(dir, 'balancer.lock');
    await writeFile(lock, '1\n', { mode: 0o644 });
    await chmod(lock, 0o644);
    const held = acquireLock(lock, 4242);
    expect(held.acquired).toBe(true);
    expect((await stat(lock)).mode & 0o777).toBe(0o600);
    if (held.acquired) held.release();
    const fd = openOwnFile(join(dir, 'new.lock'));
    closeSync(fd);
    expect((await stat(join(dir, 'new.lock'))).mode & 0o777).toBe(0o600);
  });
});
