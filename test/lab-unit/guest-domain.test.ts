import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { guestDomainXml } from '../../lab/guest-domain.ts';

const spec = { name: 'server1', home: 'kvmnode1', storageAddress: '172.21.3.13', image: '/srv/kvmshared/server1.img', memoryMiB: 32, accel: 'kvm' as const };
const hasValidator = spawnSync('virt-xml-validate', ['--help']).error === undefined;

describe('guest domain XML', () => {
  it('puts the disk on the NFS export, the home in hvmctl metadata, no graphics', () => {
    const xml = guestDomainXml(spec);
    expect(xml).toContain("<disk type='network' device='disk'>");
    expect(xml).toContain("<source protocol='nfs' name='/srv/kvmshared/server1.img'>");
    expect(xml).toContain("<host name='172.21.3.13'/>");
    expect(xml).toContain('<hvmctl:vm xmlns:hvmctl="https://hvmctl.dev/xmlns/vm/1"><home>kvmnode1</home></hvmctl:vm>');
    expect(xml).toContain("<memory unit='MiB'>32</memory>");
    expect(xml).not.toContain('<graphics');
    expect(xml.startsWith("<domain type='kvm'>")).toBe(true);
    expect(guestDomainXml({ ...spec, accel: 'tcg' }).startsWith("<domain type='qemu'>")).toBe(true);
  });

  it('escapes names', () => {
    expect(guestDomainXml({ ...spec, name: "a'<b" })).toContain('<name>a&apos;&lt;b</name>');
  });

  it.skipIf(!hasValidator)("validates against libvirt's domain schema (virt-xml-validate)", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'dom-')), 'server1.xml');
    writeFileSync(file, guestDomainXml(spec));
    const r = spawnSync('virt-xml-validate', [file, 'domain'], { encoding: 'utf8' });
    expect(r.status, r.stderr + r.stdout).toBe(0);
  });
});
