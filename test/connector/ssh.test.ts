// The SSH connector against a real sshd on 127.0.0.1 (started here, on a free
// port, with a throw-away host key and authorized key). Needs root (sshd's
// privilege separation) and /usr/sbin/sshd; skips saying why otherwise.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedConnector } from '../../src/connector/bounded.ts';
import { connectSsh } from '../../src/connector/ssh.ts';
import { ConnectError, StepTimeoutError } from '../../src/errors.ts';
import type { HostSpec } from '../../src/inventory/types.ts';

const root = process.getuid?.() === 0;
const haveSshd = existsSync('/usr/sbin/sshd');
const why = !root ? 'not root (sshd needs root for privilege separation)' : !haveSshd ? '/usr/sbin/sshd missing' : '';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(why !== '')(`ssh connector against a real sshd${why ? ` (skipped: ${why})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hvmctl-sshd-'));
  let sshd: ChildProcess | undefined;
  let port = 0;
  let host: HostSpec;
  const known = join(dir, 'known_hosts');
  const identity = join(dir, 'id_ed25519');
  const opts = () => ({ user: 'root', identity, knownHosts: known, connectTimeoutMs: 3000 });

  beforeAll(async () => {
    port = await freePort();
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'hostkey')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', identity]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${identity}.pub`));
    writeFileSync(join(dir, 'sshd_config'), '');
    mkdirSync('/run/sshd', { recursive: true });
    const hostPub = readFileSync(join(dir, 'hostkey.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(known, `[127.0.0.1]:${port} ${hostPub}\n`);
    sshd = spawn(
      '/usr/sbin/sshd',
      ['-D', '-e', '-f', join(dir, 'sshd_config'), '-p', String(port), '-h', join(dir, 'hostkey'),
        '-o', 'ListenAddress=127.0.0.1', '-o', `AuthorizedKeysFile=${join(dir, 'authorized_keys')}`,
        '-o', 'StrictModes=no', '-o', 'PermitRootLogin=prohibit-password', '-o', 'UsePAM=no', '-o', `PidFile=${join(dir, 'sshd.pid')}`,
        '-o', 'MaxSessions=10'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // wait until it listens
    for (let i = 0; i < 50; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = createServer();
        s.once('error', () => resolve(true));
        s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
      });
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    host = { name: 'local', fqdn: 'local.localdomain', role: 'hypervisor', address: '127.0.0.1', mac: '52:54:00:00:00:01', interface: 'lo', osFamily: 'debian', networkBackend: 'ifupdown', sshHost: '127.0.0.1', sshPort: port, sshdPort: port };
  }, 20_000);

  afterAll(() => {
    if (sshd?.pid) process.kill(sshd.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs commands over one reused connection, with stdin, exit codes and stderr; many at once', async () => {
    const c = await connectSsh(host, opts());
    try {
      expect(await c.run('echo hello; echo oops >&2; exit 3')).toEqual({ code: 3, stdout: 'hello\n', stderr: 'oops\n' });
      expect((await c.run('cat', { input: 'from stdin\n' })).stdout).toBe('from stdin\n');
      const pids = await Promise.all(Array.from({ length: 20 }, () => c.run('echo $PPID')));
      expect(pids.every((p) => p.code === 0)).toBe(true);
      expect((await c.run('echo "$SSH_CLIENT"')).stdout).toMatch(/^127\.0\.0\.1 \d+ \d+\n$/);
      const slow = await c.run("sleep 5", { timeoutMs: 300 });
      expect(slow.code).toBe(124);
      expect(slow.stderr).toContain('timed out');
    } finally {
      await c.close();
    }
  }, 20_000);

  // An apply whose host was cut off (a network restart) closes a connection
  // that died long before: close() waited for a 'close' event already emitted,
  // with only an unref'd timer left, and Node exited in the middle of the run
  // (code 13). Here other work keeps the loop alive, so a wait would show as
  // close() settling only after a later turn of the loop.
  it('close() of a connection the server dropped returns at once', async () => {
    const c = await connectSsh(host, opts());
    await c.run('kill -9 $PPID').catch(() => undefined); // the connection's own sshd process dies
    let lost = false;
    for (let i = 0; i < 100 && !lost; i++) {
      lost = await c.run('true').then(() => false, () => true);
      if (!lost) await new Promise((r) => setTimeout(r, 50));
    }
    expect(lost).toBe(true);
    // Settled before the next turn of the event loop: it waits for no event and no timer.
    const first = await Promise.race([c.close().then(() => 'closed'), new Promise((r) => setImmediate(() => r('waited for the event loop')))]);
    expect(first).toBe('closed');
  }, 20_000);

  it('refuses an unknown host key and says how to pin it', async () => {
    writeFileSync(join(dir, 'empty_known_hosts'), '');
    const err = await connectSsh(host, { ...opts(), knownHosts: join(dir, 'empty_known_hosts') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).message).toMatch(/not pinned/);
    expect((err as ConnectError).hint).toContain(`ssh-keyscan -p ${port} 127.0.0.1`);
  });

  it('refuses a different key pinned for the host (mismatch)', async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other')]);
    const other = readFileSync(join(dir, 'other.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(join(dir, 'wrong_known_hosts'), `[127.0.0.1]:${port} ${other}\n`);
    const err = await connectSsh(host, { ...opts(), knownHosts: join(dir, 'wrong_known_hosts') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).message).toMatch(/HOST KEY MISMATCH/);
  });

  it('an unreachable port is a ConnectError "unreachable"; the private key never shows', async () => {
    const closed = await freePort();
    const err = await connectSsh({ ...host, sshPort: closed }, opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).message).toMatch(/unreachable/);
    const key = readFileSync(identity, 'utf8');
    expect(JSON.stringify(err)).not.toContain(key.split('\n')[1]);
    expect((err as ConnectError).message + (err as ConnectError).hint).not.toContain('PRIVATE KEY');
  });

  it('a key it cannot use (passphrase-protected) is a ConnectError that does not show the key', async () => {
    const locked = join(dir, 'locked');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret-pass', '-f', locked]);
    const err = await connectSsh(host, { ...opts(), identity: locked }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).message).toContain(`cannot use the private key ${locked}`);
    expect((err as ConnectError).message).not.toContain(readFileSync(locked, 'utf8').split('\n')[1]);
  });

  it('calls the guard before connecting and stops when it throws', async () => {
    const err = await connectSsh(host, { ...opts(), guard: async () => { throw new ConnectError('local', 'route not via the lab bridge'); } }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('route not via the lab bridge');
  });

  // (sshd does not kill a command whose channel is closed and that never
  // writes: `sleep 20` rather than longer, so the test leaves nothing behind for long.)
  it('a command that hangs on the host (sleep) is bounded: a StepTimeoutError naming it, and the connection still works', async () => {
    const c = boundedConnector(await connectSsh(host, opts()), 1000);
    try {
      const error = await c.run('sleep 20').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepTimeoutError);
      expect((error as Error).message).toBe('local: no answer within 1 s: sleep 20');
      expect(await c.run('echo still here')).toMatchObject({ code: 0, stdout: 'still here\n' });
    } finally {
      await c.close();
    }
  }, 30_000);

  // A peer that vanishes without closing (power cut, a firewall dropping the
  // flow): a TCP relay in front of sshd that stops forwarding both ways and
  // keeps both sockets open. Only the SSH keepalives can notice.
  it('a dead peer is noticed by the keepalives: the running command fails as "connection lost", with no step bound at all', async () => {
    const frozen: Socket[] = [];
    let freeze = false;
    const relay = createServer((inbound) => {
      const outbound = tcpConnect(port, '127.0.0.1');
      frozen.push(inbound, outbound);
      inbound.on('data', (b) => { if (!freeze) outbound.write(b); });
      outbound.on('data', (b) => { if (!freeze) inbound.write(b); });
      inbound.on('error', () => undefined);
      outbound.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const relayPort = (relay.address() as { port: number }).port;
    const hostPub = readFileSync(join(dir, 'hostkey.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const knownRelay = join(dir, 'known_relay');
    writeFileSync(knownRelay, `[127.0.0.1]:${relayPort} ${hostPub}\n`);
    const c = await connectSsh({ ...host, sshPort: relayPort }, { ...opts(), knownHosts: knownRelay, keepaliveMs: 200, keepaliveCountMax: 2 });
    try {
      expect((await c.run('echo alive')).stdout).toBe('alive\n');
      const running = c.run('sleep 20').catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 300));
      freeze = true;
      const error = await running;
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as Error).message).toMatch(/^local: connection lost while running a command: /);
      expect(await c.run('true').catch((e: unknown) => e)).toBeInstanceOf(ConnectError);
    } finally {
      await c.close();
      for (const s of frozen) s.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    }
  }, 30_000);
});
