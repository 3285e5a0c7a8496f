import { describe, expect, it } from 'vitest';
import {
  parsePoolDefinition,
  parsePoolInfo,
  poolDifferences,
  poolInfo,
  poolXml,
} from '../../tasks/facts/virsh-pool.ts';
import { captured, ok } from './captured.ts';

const absent = { code: 1, stdout: '', stderr: captured('virsh-pool-info-absent.stderr') };

describe('virsh pool facts (captured from libvirt 9.0.0)', () => {
  it('pool-info: inactive, running, running+autostart', () => {
    expect(parsePoolInfo(captured('virsh-pool-info-inactive.txt'))).toEqual({ state: 'inactive', persistent: true, autostart: false });
    expect(parsePoolInfo(captured('virsh-pool-info-running.txt'))).toEqual({ state: 'running', persistent: true, autostart: false });
    expect(parsePoolInfo(captured('virsh-pool-info-running-autostart.txt'))).toEqual({
      state: 'running',
      persistent: true,
      autostart: true,
    });
  });

  it('an undefined pool is undefined, not an error', () => {
    expect(poolInfo('default').parse(absent)).toBeUndefined();
    expect(poolXml('default').parse({ ...absent, stderr: captured('virsh-pool-dumpxml-absent.stderr') })).toBeUndefined();
  });

  it('libvirtd down is an error with a hint', () => {
    const down = { code: 1, stdout: '', stderr: "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory" };
    expect(() => poolInfo('default').parse(down)).toThrow(/libvirt-sock/);
    expect(() => poolXml('default').parse(down)).toThrow(/failed to connect|libvirt-sock/);
  });

  it('commands quote the pool name', () => {
    expect(poolXml('my pool').command).toBe("virsh -c qemu:///system pool-dumpxml --inactive 'my pool'");
  });

  it('reads the definition libvirt prints (uuid, capacity, permissions added)', () => {
    const xml = poolXml('default').parse(ok(captured('virsh-pool-dumpxml-running-inactive.xml')));
    expect(parsePoolDefinition(xml ?? '')).toEqual({ name: 'default', type: 'dir', targetPath: '/tmp/lvcap/img/kvmshared' });
    expect(parsePoolDefinition(captured('virsh-pool-dumpxml-defined.xml')).targetPath).toBe('/tmp/lvcap/img/kvmshared');
  });

  it('reads a template with double quotes and rejects what is not a pool', () => {
    expect(parsePoolDefinition('<pool type="dir">\n<name>a&amp;b</name><target><path>/x/</path></target></pool>')).toEqual({
      type: 'dir',
      name: 'a&b',
      targetPath: '/x/',
    });
    expect(() => parsePoolDefinition('<network/>', 'templates/pool.xml.hbs')).toThrow(/templates\/pool.xml.hbs/);
  });

  it('compares semantically: uuid and capacity do not matter, target path does', () => {
    const defined = parsePoolDefinition(captured('virsh-pool-dumpxml-running-inactive.xml'));
    expect(poolDifferences(defined, { name: 'default', type: 'dir', targetPath: '/tmp/lvcap/img/kvmshared/' })).toEqual([]);
    expect(poolDifferences(defined, { name: 'default', type: 'dir', targetPath: '/srv/other' })).toEqual([
      'target path /tmp/lvcap/img/kvmshared -> /srv/other',
    ]);
  });
});
