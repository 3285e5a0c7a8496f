import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ProcessResult, RunProcess } from '../../src/process.ts';
import { createVirshLibvirt, LibvirtError } from '../../balancer/libvirt.ts';
import { ConnectError } from '../../src/errors.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/captured-balancer/${name}`, import.meta.url), 'utf8');
const hosts = [
  { name: 'kvmnode1', fqdn: 'kvmnode1.localdomain', sshPort: 22 },
  { name: 'kvmnode2', fqdn: 'kvmnode2.localdomain', sshPort: 22 },
];

function recorder(answer: (argv: readonly string[]) => Partial<ProcessResult>): { exec: RunProcess; calls: { argv: readonly string[]; timeoutMs: number | undefined }[] } {
  const calls: { argv: readonly string[]; timeoutMs: number | undefined }[] = [];
  const exec: RunProcess = async (argv, options) => {
    calls.push({ argv, timeoutMs: options?.timeoutMs });
    return { code: 0, stdout: '', stderr: '', timedOut: false, ...answer(argv) };
  };
  return { exec, calls };
}

const captured = (name: string): string => readFileSync(new URL(`../fixtures/captured/migration/${name}`, import.meta.url), 'utf8');

describe('job information (virsh domjobinfo, captured during a held migration)', () => {
  const answer = (r: Partial<ProcessResult>) => createVirshLibvirt({ self: 'kvmnode1', hosts, exec: recorder(() => r).exec });
  it('no job on an idle domain', async () => {
    expect(await answer({ stdout: captured('domjobinfo-idle.stdout') }).jobActive('kvmnode1', 'server3')).toBe(false);
  });
  it("a job while the source's Perform phase holds the domain, and on the destination of an incoming migration", async () => {
    expect(await answer({ code: 1, stderr: captured('domjobinfo-source-during-connect.stderr') }).jobActive('kvmnode1', 'server2')).toBe(true);
    expect(await answer({ code: 1, stderr: captured('domjobinfo-destination-incoming.stderr') }).jobActive('kvmnode2', 'server2')).toBe(true);
  });
  it('no job for a domain the host does not have; an unreachable host throws', async () => {
    expect(await answer({ code: 1, stderr: captured('domjobinfo-absent.stderr') }).jobActive('kvmnode2', 'server2')).toBe(false);
    await expect(answer({ code: 1, stderr: 'error: failed to connect to the hypervisor\nerror: Cannot recv data: Connection reset by peer' }).jobActive('kvmnode2', 'server2')).rejects.toThrow(ConnectError);
  });
});

describe('repairs of a domain the host does not have (virsh undefine and destroy, captured)', () => {
  const answer = (r: Partial<ProcessResult>) => createVirshLibvirt({ self: 'kvmnode1', hosts, exec: recorder(() => r).exec });
  it("says 'absent' instead of failing: there was nothing to remove or stop", async () => {
    expect(await answer({ code: 1, stdout: '\n', stderr: captured('undefine-absent.stderr') }).undefine('kvmnode2', 'server2')).toBe('absent');
    expect(await answer({ code: 1, stdout: '\n', stderr: captured('destroy-absent.stderr') }).destroy('kvmnode2', 'server2')).toBe('absent');
    expect(await answer({}).undefine('kvmnode2', 'server2')).toBe('removed');
    expect(await answer({}).destroy('kvmnode2', 'server2')).toBe('stopped');
  });
  it('any other failure still throws, naming the host and what virsh said', async () => {
    const active = "error: Failed to undefine domain 'server2'\nerror: Requested operation is not valid: cannot undefine transient domain";
    await expect(answer({ code: 1, stderr: active }).undefine('kvmnode2', 'server2')).rejects.toThrow(/kvmnode2: virsh undefine server2 failed: error: Requested operation is not valid/);
    await expect(answer({ code: 1, stderr: 'error: Requested operation is not valid: domain is not running' }).destroy('kvmnode2', 'server2')).rejects.toThrow(LibvirtError);
  });
});

describe('virsh libvirt adapter', () => {
  it("reaches another hypervisor's libvirt on the port its sshd listens on (the URI's {port}; 22 when the file does not say)", async () => {
    const { exec, calls } = recorder(() => ({ stdout: fixture('virsh-domstats-1.txt') }));
    const lv = createVirshLibvirt({ self: 'kvmnode1', hosts: [hosts[0]!, { name: 'kvmnode2', fqdn: 'kvmnode2.localdomain', sshPort: 2200 }, { name: 'kvmnode3', fqdn: 'kvmnode3.localdomain' }], exec });
    await lv.domstats('kvmnode2');
    await lv.domstats('kvmnode3');
    await lv.migrate('server2', 'kvmnode1', 'kvmnode2', 1000);
    expect(calls.map((c) => c.argv[2])).toEqual(['qemu+ssh://root@kvmnode2.localdomain:2200/system', 'qemu+ssh://root@kvmnode3.localdomain:22/system', 'qemu:///system']);
    expect(calls[2]?.argv.at(-1)).toBe('qemu+ssh://root@kvmnode2.localdomain:2200/system');
  });

  it('reads domstats locally through qemu:///system and remotely through qemu+ssh', async () => {
    const { exec, calls } = recorder(() => ({ stdout: fixture('virsh-domstats-1.txt') }));
    const lv = createVirshLibvirt({ self: 'kvmnode1', hosts, exec });
    expect((await lv.domstats('kvmnode1')).map((d) => d.name)).toEqual(['capoff', 'capbusy', 'capidle']);
    await lv.domstats('kvmnode2');
    expect(calls.map((c) => c.argv)).toEqual([
      ['virsh', '-c', 'qemu:///system', 'domstats', '--cpu-total', '--balloon', '--state'],
      ['virsh', '-c', 'qemu+ssh://root@kvmnode2.localdomain:22/system', 'domstats', '--cpu-total', '--balloon', '--state'],
    ]);
  });

  it('turns a connection failure into ConnectError and other failures into LibvirtError', async () => {
    const down = createVirshLibvirt({
      self: 'kvmnode1',
      hosts,
      exec: recorder(() => ({ code: 1, stderr: 'error: failed to connect to the hypervisor\nerror: Cannot recv data: Connection reset by peer' })).exec,
    });
    await expect(down.domstats('kvmnode2')).rejects.toBeInstanceOf(ConnectError);
    const broken = createVirshLibvirt({ self: 'kvmnode1', hosts, exec: recorder(() => ({ code: 1, stderr: 'error: internal error: oops' })).exec });
    await expect(broken.resume('kvmnode1', 'server1')).rejects.toBeInstanceOf(LibvirtError);
    await expect(broken.domstats('nosuchhost')).rejects.toBeInstanceOf(ConnectError);
  });

  it('reads metadata, and a domain without it as undefined', async () => {
    const lv = createVirshLibvirt({
      self: 'kvmnode1',
      hosts,
      exec: recorder((argv) =>
        argv.includes('capbusy') ? { stdout: fixture('virsh-metadata.txt') } : { code: 1, stderr: fixture('virsh-metadata-missing.txt').split('\n')[0]! },
      ).exec,
    });
    expect(await lv.getMetadata('kvmnode1', 'capbusy')).toEqual({ home: 'kvmnode1', moved: 1700000000, reason: 'kvmnode1 at 93 %' });
    expect(await lv.getMetadata('kvmnode1', 'capidle')).toBeUndefined();
  });

  it('writes metadata live and persistent', async () => {
    const { exec, calls } = recorder(() => ({}));
    await createVirshLibvirt({ self: 'kvmnode1', hosts, exec }).setMetadata('kvmnode2', 'server2', { home: 'kvmnode1', moved: 5, reason: 'r' });
    expect(calls[0]!.argv).toEqual([
      'virsh', '-c', 'qemu+ssh://root@kvmnode2.localdomain:22/system', 'metadata', 'server2', 'https://hvmctl.dev/xmlns/vm/1',
      '--key', 'hvmctl', '--set', '<vm><home>kvmnode1</home><moved>5</moved><reason>r</reason></vm>', '--live', '--config',
    ]);
  });

  it('migrates live, persistent, undefining the source, with the timeout on the process', async () => {
    const { exec, calls } = recorder(() => ({}));
    const lv = createVirshLibvirt({ self: 'kvmnode1', hosts, exec });
    expect(await lv.migrate('server2', 'kvmnode1', 'kvmnode2', 120_000)).toEqual({ ok: true, timedOut: false, error: undefined });
    await lv.migrate('server2', 'kvmnode2', 'kvmnode1', 60_000);
    expect(calls).toEqual([
      { argv: ['virsh', '-c', 'qemu:///system', 'migrate', '--live', '--persistent', '--undefinesource', '--verbose', 'server2', 'qemu+ssh://root@kvmnode2.localdomain:22/system'], timeoutMs: 120_000 },
      { argv: ['virsh', '-c', 'qemu+ssh://root@kvmnode2.localdomain:22/system', 'migrate', '--live', '--persistent', '--undefinesource', '--verbose', 'server2', 'qemu:///system'], timeoutMs: 60_000 },
    ]);
  });

  it('reports a timed-out migration', async () => {
    const lv = createVirshLibvirt({ self: 'kvmnode1', hosts, exec: recorder(() => ({ code: 143, timedOut: true })).exec });
    expect(await lv.migrate('server2', 'kvmnode1', 'kvmnode2', 2000)).toEqual({ ok: false, timedOut: true, error: 'timed out after 2 s' });
  });
});
