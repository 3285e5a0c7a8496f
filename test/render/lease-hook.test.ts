// The disk-lease hook (templates/libvirt-hook-leases.sh.hbs) creates each
// lease's file in the lockspace on the shared storage, as root. Run here with
// sh and xmllint as libvirtd runs it, on a lockspace of a temporary directory:
// it creates a missing lease file, and never writes through a link planted on
// the share (that made an empty root file anywhere, e.g. /etc/nologin).
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.ts';
import { managedFiles } from '../../src/render/managed-files.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const xmllint = spawnSync('xmllint', ['--version']).status === 0;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hvmctl-hook-'));
  await mkdir(path.join(dir, 'files'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function hook(): Promise<string> {
  const inv = await loadInventory(path.join(root, 'inventory.yaml'), { home: '/root' });
  const host = inv.hosts.find((h) => h.role === 'hypervisor')!;
  const file = managedFiles(inv, host).find((f) => f.path === '/etc/libvirt/hooks/qemu.d/hvmctl-disk-leases');
  expect(file, 'the hook is rendered').toBeDefined();
  const script = file!.content.replace(/^dir='[^']*'$/m, `dir='${dir}'`);
  expect(script).toContain(`dir='${dir}'`);
  return script;
}

const domain = (key: string) => `<domain><name>g1</name><devices>
  <disk type='network'><source protocol='nfs' name='/srv/kvmshared/g1.img'/></disk>
  <lease><lockspace>files</lockspace><key>${key}</key><target path='DIR'/></lease>
</devices></domain>`;

function run(script: string, xml: string) {
  return spawnSync('sh', ['-c', script, 'qemu', 'g1', 'prepare', 'begin', '-'], { input: xml, encoding: 'utf8' });
}

describe.skipIf(!xmllint)('the disk-lease hook (needs xmllint)', () => {
  const key = 'srv%2Fkvmshared%2Fg1.img';
  it('creates the missing lease file and lets the guest start', async () => {
    const r = run(await hook(), domain(key).replace('DIR', dir));
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect((await lstat(path.join(dir, 'files', key))).isFile()).toBe(true);
  });
  it('refuses a lease file that is a link, and writes nothing through it', async () => {
    const victim = path.join(dir, 'victim');
    await writeFile(victim, 'keep\n');
    const gone = path.join(dir, 'nologin');
    await symlink(victim, path.join(dir, 'files', key));
    const r = run(await hook(), domain(key).replace('DIR', dir));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the lease file .* is not a regular file \(a link planted on the shared storage\?\)/);
    expect(await readFile(victim, 'utf8')).toBe('keep\n');
    // a dangling link: the file it names is not created
    await rm(path.join(dir, 'files', key));
    await symlink(gone, path.join(dir, 'files', key));
    expect(run(await hook(), domain(key).replace('DIR', dir)).status).toBe(1);
    await expect(lstat(gone)).rejects.toThrow(/ENOENT/);
  });
});

// The hook's shell reads the lockspace's path: it is written as a quoted word by the render,
// not left to the template's quotes (the schema's absPath allows no quote; this does not rely on it).
describe('the lockspace path in the hook', () => {
  it("is one shell word, whatever it holds, and runs nothing", async () => {
    const inv = await loadInventory(path.join(root, 'inventory.yaml'), { home: '/root' });
    const host = inv.hosts.find((h) => h.role === 'hypervisor')!;
    const odd = `${dir}/it's $(touch pwned)`;
    const odder = { ...inv, nfs: { ...inv.nfs, locks: { ...inv.nfs.locks, dir: odd } } };
    const file = managedFiles(odder, host).find((f) => f.path === '/etc/libvirt/hooks/qemu.d/hvmctl-disk-leases');
    const line = file?.content.split('\n').find((l) => l.startsWith('dir='));
    expect(line).toBe(`dir='${dir}/it'\\''s $(touch pwned)'`);
    const r = spawnSync('sh', ['-c', `${line}\nprintf '%s' "$dir"`], { cwd: dir, encoding: 'utf8' });
    expect(r.stdout).toBe(odd);
    await expect(lstat(path.join(dir, 'pwned'))).rejects.toThrow(/ENOENT/);
  });
});
