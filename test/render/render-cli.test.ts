import { mkdtemp, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dispatch } from '../../cli/main.ts';
import { run } from '../../cli/render.ts';
import type { CliIo } from '../../cli/io.ts';
import { UsageError } from '../../src/errors.ts';
import { InventoryError } from '../../src/inventory/load.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function fakeIo(cwd = root): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { out: (t) => stdout.push(t), err: (t) => stderr.push(t), tty: false, env: { HOME: '/root' }, cwd, stdout, stderr };
}

describe('hvmctl render', () => {
  it('writes every managed file of every host under DIR/<host>/<path>, same bytes as the golden files', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'hvmctl-render-'));
    const io = fakeIo();
    expect(await run(['-o', out], io)).toBe(0);
    expect(io.stdout).toHaveLength(4);
    expect(io.stdout[1]).toMatch(/^kvmnode1: 14 files -> .*kvmnode1 \(\/etc\/hosts, .*\/etc\/iptables\/rules.v4, \/etc\/iptables\/rules.v6, /);
    for (const rel of ['kvmnode1/etc/cron.d/hvmctl-balancer', 'kvmnode1/etc/systemd/system/hvmctl-balancer.timer', 'kvmstorage/etc/ganesha/ganesha.conf', 'kvmnode3/etc/iptables/rules.v4']) {
      expect(await readFile(path.join(out, rel), 'utf8')).toBe(await readFile(path.join(root, 'test/golden/default', rel), 'utf8'));
    }
    expect((await stat(path.join(out, 'kvmnode3/etc/iptables/rules.v4'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(out, 'kvmnode3/etc/hosts'))).mode & 0o777).toBe(0o644);
  });

  it('-i is relative to the working directory; --limit takes names and groups; --json lists the files', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'hvmctl-render-'));
    const io = fakeIo(path.join(root, 'test/fixtures'));
    const code = await run(['-i', 'inventories/seed-redhat.yaml', '-o', out, '--limit', 'storage,kvmnode2', '--json'], io);
    expect(code).toBe(0);
    const listing = JSON.parse(io.stdout.join('\n')) as { files: { host: string; path: string; file: string; mode: string; sha256: string }[] };
    expect([...new Set(listing.files.map((f) => f.host))]).toEqual(['kvmstorage', 'kvmnode2']);
    const exportsEntry = listing.files.find((f) => f.path === '/etc/exports');
    expect(exportsEntry).toMatchObject({ host: 'kvmstorage', file: path.join(out, 'kvmstorage/etc/exports'), mode: '0644' });
    expect(exportsEntry?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await readFile(path.join(out, 'kvmnode2/etc/sysconfig/network-scripts/ifcfg-br0'), 'utf8')).toContain('IPADDR=172.21.3.11\n');
  });

  it('--operator adds the operator ssh rule', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'hvmctl-render-'));
    expect(await run(['-o', out, '-l', 'kvmnode2', '--operator', '198.51.100.4'], fakeIo())).toBe(0);
    expect(await readFile(path.join(out, 'kvmnode2/etc/iptables/rules.v4'), 'utf8')).toContain('-s 198.51.100.4/32 -p tcp -m tcp --dport 22');
    const v6 = await mkdtemp(path.join(os.tmpdir(), 'hvmctl-render-'));
    expect(await run(['-o', v6, '-l', 'kvmnode2', '--operator', '2001:db8::4'], fakeIo())).toBe(0);
    expect(await readFile(path.join(v6, 'kvmnode2/etc/iptables/rules.v6'), 'utf8')).toContain('-s 2001:db8::4/128 -p tcp -m tcp --dport 22');
    expect(await readFile(path.join(v6, 'kvmnode2/etc/iptables/rules.v4'), 'utf8')).not.toContain('operator');
  });

  it('--help prints the usage', async () => {
    const io = fakeIo();
    expect(await run(['--help'], io)).toBe(0);
    expect(io.stdout[0]).toMatch(/^usage: hvmctl render /);
  });

  it.each([
    [[], /-o DIR is required/],
    // an unset $OUT would otherwise scatter the trees into the working directory
    [['-o', ''], /-o DIR is empty/],
    [['--output='], /-o DIR is empty/],
    [['-o'], /argument missing|requires|expects/i],
    [['-o', '/tmp/x', '--bogus'], /Unknown option '--bogus'/],
    [['-o', '/tmp/x', 'extra'], /positional/i],
    [['-o', '/tmp/x', '--limit', 'kvmnode9'], /no host or group named 'kvmnode9'/],
    [['-o', '/tmp/x', '--operator', 'somewhere'], /not an IPv4 or IPv6 address/],
    [['-o', '/tmp/x', '--operator', 'fe80::1%br0'], /not an IPv4 or IPv6 address/],
  ])('%j is a usage error', async (argv, message) => {
    const error = await run(argv as string[], fakeIo()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(message);
  });

  it('an -o where nothing can be created fails with 73 and a hint that fits, without hanging (/proc answers ENOENT to every create)', async () => {
    for (const [dir, hint] of [
      ['/proc/hvmctl-render-test/out', /a directory on that path is missing or is a dangling link/],
      ['/etc/hostname/out', /a file is in the way on that path/],
    ] as const) {
      const error = await run(['-o', dir], fakeIo()).catch((e: unknown) => e);
      expect(error).toMatchObject({ exitCode: 73, hint: expect.stringMatching(hint) });
    }
  });

  it('a bad inventory writes nothing', async () => {
    const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'hvmctl-render-')), 'tree');
    const error = await run(['-i', 'test/fixtures/inventories/bad-address-outside.yaml', '-o', out], fakeIo()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InventoryError);
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
  });

  it('through the CLI entry: exit 65 and every problem with file:line:column on stderr', async () => {
    const io = fakeIo();
    const code = await dispatch(['render', '-i', 'test/fixtures/inventories/bad-several-cross.yaml', '-o', os.tmpdir()], io);
    expect(code).toBe(65);
    const text = io.stderr.join('\n');
    expect(text).toMatch(/^error: 3 problems in .*bad-several-cross\.yaml:/);
    expect(text).toContain('bad-several-cross.yaml:17:16: hypervisors.hosts.kvmnode2.address: "172.21.4.11" is not inside the cluster network 172.21.3.0/26');
    expect(text).toContain('hint: fix the inventory');
  });

  it('through the CLI entry: a usage error exits 64', async () => {
    expect(await dispatch(['render'], fakeIo())).toBe(64);
  });
});
