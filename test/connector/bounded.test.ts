// Every remote step bounded (src/connector/bounded.ts), on real processes
// (LocalConnector: `sleep` really hangs) and a real TCP server that accepts
// and then says nothing. No durations are asserted: each test checks the
// outcome and that the call ended, under a generous test timeout.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedConnector } from '../../src/connector/bounded.ts';
import { LocalConnector } from '../../src/connector/local.ts';
import { connectSsh } from '../../src/connector/ssh.ts';
import { ConnectError, StepTimeoutError } from '../../src/errors.ts';
import type { HostSpec } from '../../src/inventory/types.ts';
import { gatherFacts } from '../../tasks/engine/facts.ts';

const local = () => boundedConnector(new LocalConnector('kvmnode2'), 500);

describe('bounded connector', () => {
  it('a command that hangs is killed at the bound and is a StepTimeoutError naming it; the connection goes on', async () => {
    const conn = local();
    const error = await conn.run('sleep 30; echo never').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepTimeoutError);
    expect((error as StepTimeoutError).message).toBe('kvmnode2: no answer within 0.5 s: sleep 30; echo never');
    expect((error as StepTimeoutError).hint).toMatch(/--timeout SECONDS or the host's `timeout:`/);
    expect(await conn.run('echo fine')).toMatchObject({ code: 0, stdout: 'fine\n' });
  }, 20_000);

  it("a command with its own timeout keeps it, and reads the result itself (no error)", async () => {
    const r = await local().run('sleep 30', { timeoutMs: 200 });
    expect(r).toMatchObject({ code: 124, timedOut: true });
  }, 20_000);

  it('a fact batch that hangs names the fact that hung, not the batch script', async () => {
    const facts = [
      { key: 'quick', command: 'echo up', parse: (r: { stdout: string }) => r.stdout },
      { key: 'stat:/var/lib/libvirt/images/kvmshared', command: 'sleep 30', parse: (r: { stdout: string }) => r.stdout },
      { key: 'after', command: 'echo never', parse: (r: { stdout: string }) => r.stdout },
    ];
    const error = await gatherFacts(local(), facts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepTimeoutError);
    expect((error as Error).message).toBe("kvmnode2: no answer within 0.5 s: reading fact 'stat:/var/lib/libvirt/images/kvmshared' (sleep 30)");
  }, 20_000);

  it('the backstop answers when the connector never does', async () => {
    const silent = { host: 'kvmnode3', run: () => new Promise<never>(() => undefined), close: async () => undefined };
    const error = await boundedConnector(silent, 100).run('virsh list').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepTimeoutError);
    expect((error as Error).message).toBe('kvmnode3: no answer within 0.1 s: virsh list');
  }, 20_000);
});

describe('an SSH server that accepts the connection and then stalls', () => {
  let server: Server;
  const sockets: Socket[] = [];
  let port = 0;
  const dir = mkdtempSync(join(tmpdir(), 'hvmctl-stall-'));
  beforeAll(async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
    writeFileSync(join(dir, 'known_hosts'), '');
    server = createServer((s) => {
      sockets.push(s); // accept, then never send the SSH banner
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('the handshake is bounded: unreachable, "connect timed out", and the call ends', async () => {
    const host: HostSpec = { name: 'stall', fqdn: 'stall.localdomain', role: 'hypervisor', address: '127.0.0.1', mac: '52:54:00:00:00:09', interface: 'eth0', osFamily: 'debian', networkBackend: 'ifupdown', sshHost: '127.0.0.1', sshPort: port, sshdPort: port };
    const error = await connectSsh(host, { user: 'root', identity: join(dir, 'id'), knownHosts: join(dir, 'known_hosts'), connectTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as Error).message).toBe(`stall: unreachable: 127.0.0.1:${port}: connect timed out`);
    expect(sockets.length).toBeGreaterThan(0); // it was accepted
  }, 20_000);
});
