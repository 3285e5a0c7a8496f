// `render -o` on a file, a full disk, or an output tree holding symlinks
// (issue 10): a clear error (exit 73), no partial file, and nothing ever
// written or chmod'ed through a link. Real files in a temporary directory;
// the full disk is a write that fails with ENOSPC halfway through.
import { spawnSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dispatch } from '../../cli/main.ts';
import type { CliIo } from '../../cli/io.ts';
import { RenderOutputError, writeOutputFile } from '../../cli/render-output.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const scratch = () => mkdtemp(path.join(os.tmpdir(), 'hvmctl-render-out-'));

function io(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), tty: false, env: { HOME: '/root' }, cwd: root };
}

async function render(out: string): Promise<{ code: number; stderr: string }> {
  const cli = io();
  const code = await dispatch(['render', '-o', out, '--limit', 'kvmnode1'], cli);
  return { code, stderr: cli.stderr.join('\n') };
}

describe('render -o', () => {
  it('pointing at a file: exit 73, a clear error, the file untouched', async () => {
    const file = path.join(await scratch(), 'not-a-dir');
    await writeFile(file, 'keep me\n');
    const r = await render(file);
    expect(r.code).toBe(73);
    expect(r.stderr).toBe(`error: render: -o ${file} is not a directory\nhint: name a directory (it is created if missing); render writes DIR/<host>/<path> below it`);
    expect(await readFile(file, 'utf8')).toBe('keep me\n');
  });

  it('a symlinked directory inside the tree is not followed: nothing is written or chmod-ed behind it', async () => {
    const dir = await scratch();
    const victim = path.join(dir, 'victim');
    await mkdir(victim, { mode: 0o700 });
    await mkdir(path.join(dir, 'out', 'kvmnode1'), { recursive: true });
    await symlink(victim, path.join(dir, 'out', 'kvmnode1', 'etc'));
    const r = await render(path.join(dir, 'out'));
    expect(r.code).toBe(73);
    expect(r.stderr).toContain(`render: ${path.join(dir, 'out', 'kvmnode1', 'etc')} is a symbolic link; render never follows links below -o`);
    expect(await readdir(victim)).toEqual([]);
    expect((await stat(victim)).mode & 0o777).toBe(0o700);
  });

  it('a symlink where a file goes is not followed: its target keeps its content and mode', async () => {
    const dir = await scratch();
    const victim = path.join(dir, 'victim.conf');
    await writeFile(victim, 'precious\n');
    await chmod(victim, 0o644);
    await mkdir(path.join(dir, 'out', 'kvmnode1', 'etc', 'iptables'), { recursive: true });
    await symlink(victim, path.join(dir, 'out', 'kvmnode1', 'etc', 'iptables', 'rules.v4'));
    const r = await render(path.join(dir, 'out'));
    expect(r.code).toBe(73);
    expect(r.stderr).toContain('rules.v4 is a symbolic link; render never follows links below -o');
    expect(await readFile(victim, 'utf8')).toBe('precious\n');
    expect((await stat(victim)).mode & 0o777).toBe(0o644); // not the rules file's 0600
    expect((await lstat(path.join(dir, 'out', 'kvmnode1', 'etc', 'iptables', 'rules.v4'))).isSymbolicLink()).toBe(true);
  });

  it('a file where a directory goes: a clear error', async () => {
    const dir = await scratch();
    await mkdir(path.join(dir, 'out', 'kvmnode1'), { recursive: true });
    await writeFile(path.join(dir, 'out', 'kvmnode1', 'etc'), '');
    const r = await render(path.join(dir, 'out'));
    expect(r.code).toBe(73);
    expect(r.stderr).toContain('kvmnode1/etc is in the way: it is a file, and a directory is needed here');
  });

  it('a full disk: the old file stays whole, no partial or temporary file is left, exit 73 with a clear message', async () => {
    const dir = await scratch();
    await mkdir(path.join(dir, 'etc'));
    await writeFile(path.join(dir, 'etc', 'hosts'), 'old\n');
    const full = async (handle: FileHandle, content: string) => {
      await handle.write(content.slice(0, 5));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    const error = await writeOutputFile(dir, 'etc/hosts', 'new content\n', 0o644, { write: full }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RenderOutputError);
    expect((error as RenderOutputError).exitCode).toBe(73);
    expect((error as RenderOutputError).message).toBe(`render: no space left writing ${path.join(dir, 'etc', 'hosts')} (ENOSPC); it was not written`);
    expect(await readFile(path.join(dir, 'etc', 'hosts'), 'utf8')).toBe('old\n');
    expect(await readdir(path.join(dir, 'etc'))).toEqual(['hosts']);
  });

  it('an existing tree is replaced file by file, with each file\'s mode', async () => {
    const dir = await scratch();
    const out = path.join(dir, 'out');
    expect((await render(out)).code).toBe(0);
    await writeFile(path.join(out, 'kvmnode1', 'etc', 'hosts'), 'stale\n');
    await chmod(path.join(out, 'kvmnode1', 'etc', 'iptables', 'rules.v4'), 0o666);
    expect((await render(out)).code).toBe(0);
    expect(await readFile(path.join(out, 'kvmnode1', 'etc', 'hosts'), 'utf8')).toBe(await readFile(path.join(root, 'test/golden/default/kvmnode1/etc/hosts'), 'utf8'));
    expect((await stat(path.join(out, 'kvmnode1', 'etc', 'iptables', 'rules.v4'))).mode & 0o777).toBe(0o600);
    expect((await readdir(path.join(out, 'kvmnode1', 'etc'))).filter((n) => n.includes('hvmctl-'))).toEqual([]);
  });

  const noRealDisk =
    process.getuid?.() !== 0 ? 'not root' : spawnSync('sh', ['-c', 'command -v unshare'], { stdio: 'ignore' }).status !== 0 ? 'no unshare' : undefined;
  it.skipIf(noRealDisk !== undefined)(`a really full disk (a 12 KiB tmpfs in a private mount namespace)${noRealDisk ? ` (skipped: ${noRealDisk})` : ''}: exit 73, every file there is whole, no temporary file`, async () => {
    const dir = await scratch();
    const script = [
      'set -e',
      'mount -t tmpfs -o size=12k tmpfs "$1"',
      'set +e',
      'HVMCTL_NO_DIST=1 node bin/hvmctl.js render -o "$1" --limit kvmnode1 2>&1',
      'echo "exit=$?"',
      'cd "$1" && find . -type f -exec sha256sum {} +',
    ].join('\n');
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', dir], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toMatch(/^error: render: no space left writing .* \(ENOSPC\); it was not written$/m);
    expect(r.stdout).toMatch(/^exit=73$/m);
    const files = r.stdout.split('\n').filter((l) => /^[0-9a-f]{64} {2}\.\//.test(l));
    expect(files.length).toBeGreaterThan(0);
    for (const line of files) {
      const [sum, rel] = line.split(/ {2}\.\//) as [string, string];
      expect(rel, 'no temporary file left').not.toMatch(/\.hvmctl-/);
      const golden = await readFile(path.join(root, 'test/golden/default', rel));
      expect(sum, `${rel} is whole`).toBe((await import('node:crypto')).createHash('sha256').update(golden).digest('hex'));
    }
  });
});
