// The SSH connector: ssh2 behind the Connector interface. One connection per
// host, reused for every command (each `run` is one exec channel; at most
// `maxChannels` at once, below OpenSSH's MaxSessions 10). The server's host
// key must be pinned in the operator's known_hosts (known-hosts.ts): an
// unknown or different key is a ConnectError, never a prompt and never
// "accept anyway". The private key is read from disk and never printed.
import { readFile } from 'node:fs/promises';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { ConnectError } from '../errors.ts';
import type { HostSpec } from '../inventory/types.ts';
import type { Connector, RunOptions, RunResult } from './connector.ts';
import { hostKeyName, parseKnownHosts, pinnedAlgorithms, verifyHostKey, type HostKeyVerdict } from './known-hosts.ts';

export interface SshOptions {
  readonly user: string;
  /** Path of the private key. */
  readonly identity: string;
  /** Path of the OpenSSH known_hosts file the host key must be pinned in. */
  readonly knownHosts: string;
  /** Bound of the TCP connect and SSH handshake (default 15 s; apply passes 5 s, see cli/apply.ts). */
  readonly connectTimeoutMs?: number;
  /**
   * A keepalive every `keepaliveMs` (default 5 s); after `keepaliveCountMax`
   * (default 3) unanswered ones the connection is dead: a peer that vanished
   * without closing (power cut, cable, a firewall dropping the flow) is
   * noticed within about (countMax + 1) x keepaliveMs, and every command on it
   * fails at once instead of waiting for TCP's own minutes-long timeout.
   */
  readonly keepaliveMs?: number;
  readonly keepaliveCountMax?: number;
  readonly maxChannels?: number;
  /** Called before connecting (the lab checks the route goes through its bridge); throw to refuse. */
  readonly guard?: (host: HostSpec) => Promise<void>;
}

type AlgorithmList = NonNullable<NonNullable<ConnectConfig['algorithms']>['serverHostKey']>;

export async function connectSsh(host: HostSpec, options: SshOptions): Promise<SshConnector> {
  if (options.guard) await options.guard(host);
  const [privateKey, knownText] = await Promise.all([
    readFile(options.identity).catch((cause: unknown) => {
      throw new ConnectError(host.name, `cannot read the private key ${options.identity}`, {
        hint: 'set ssh.identity in the inventory (or HVMCTL_IDENTITY) to the operator key that root on every host accepts',
        cause,
      });
    }),
    readFile(options.knownHosts, 'utf8').catch((cause: unknown) => {
      throw new ConnectError(host.name, `cannot read known_hosts ${options.knownHosts}`, {
        hint: `host keys are pinned there; record this host's key after checking its fingerprint: ssh-keyscan -p ${host.sshPort} ${host.sshHost} >> ${options.knownHosts}`,
        cause,
      });
    }),
  ]);
  const entries = parseKnownHosts(knownText);
  const names = [...new Set([host.sshHost, host.address].map((n) => hostKeyName(n, host.sshPort)))];
  const algorithms = pinnedAlgorithms(entries, names);
  let verdict: HostKeyVerdict | undefined;

  const client = new Client();
  const config: ConnectConfig = {
    host: host.sshHost,
    port: host.sshPort,
    username: options.user,
    privateKey,
    readyTimeout: options.connectTimeoutMs ?? 15_000,
    keepaliveInterval: options.keepaliveMs ?? 5000,
    keepaliveCountMax: options.keepaliveCountMax ?? 3,
    hostVerifier: (key: Buffer) => {
      verdict = verifyHostKey(entries, names, key);
      return verdict.ok;
    },
    ...(algorithms.length > 0 ? { algorithms: { serverHostKey: algorithms as AlgorithmList } } : {}),
  };

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error & { level?: string; code?: string }): void => {
      client.removeListener('ready', onReady);
      // The abandoned client may report more (a timed-out handshake's socket closing later:
      // "Connection lost before handshake"); with no listener that would crash the process.
      client.on('error', () => undefined);
      client.end();
      reject(connectError(host, options, error, verdict, algorithms));
    };
    const onReady = (): void => {
      client.removeListener('error', onError);
      resolve();
    };
    client.once('ready', onReady);
    client.once('error', onError);
    try {
      client.connect(config);
    } catch (error) {
      // ssh2 throws synchronously for a key it cannot use (encrypted, unknown format)
      client.removeListener('ready', onReady);
      client.removeListener('error', onError);
      reject(
        new ConnectError(host.name, `cannot use the private key ${options.identity}: ${(error as Error).message}`, {
          hint: 'hvmctl needs an unencrypted OpenSSH/PEM key (ed25519, ecdsa or rsa); set ssh.identity or HVMCTL_IDENTITY',
          cause: error,
        }),
      );
    }
  });
  return new SshConnector(host.name, client, options.maxChannels ?? 8);
}

function connectError(host: HostSpec, options: SshOptions, error: Error & { level?: string; code?: string }, verdict: HostKeyVerdict | undefined, algorithms: readonly string[]): ConnectError {
  const where = `${host.sshHost}:${host.sshPort}`;
  const record = `check the fingerprint on the host's console (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then record it: ssh-keyscan -p ${host.sshPort} ${host.sshHost} >> ${options.knownHosts}`;
  if (verdict && !verdict.ok) {
    if (verdict.reason === 'unknown') {
      return new ConnectError(host.name, `host key of ${where} is not pinned in ${options.knownHosts} (server presented ${verdict.fingerprint})`, { hint: record, cause: error });
    }
    if (verdict.reason === 'revoked') {
      return new ConnectError(host.name, `host key of ${where} is marked @revoked in ${options.knownHosts} (${verdict.fingerprint})`, { hint: 'the host must get a new host key; do not connect until it has', cause: error });
    }
    return new ConnectError(host.name, `HOST KEY MISMATCH for ${where}: server presented ${verdict.fingerprint}, ${options.knownHosts} pins ${verdict.known.join(', ')}`, {
      hint: `someone may be intercepting the connection, or the host was reinstalled; if you are sure it was reinstalled, remove the old entry (ssh-keygen -R ${host.sshHost} -f ${options.knownHosts}) and ${record}`,
      cause: error,
    });
  }
  if (algorithms.length === 0 && /host key|no matching/i.test(error.message)) {
    return new ConnectError(host.name, `no host key of ${where} is pinned in ${options.knownHosts}`, { hint: record, cause: error });
  }
  if (error.level === 'client-authentication') {
    return new ConnectError(host.name, `authentication as ${options.user} with ${options.identity} refused by ${where}`, {
      hint: `add the operator's public key (${options.identity}.pub) to ${options.user}'s authorized_keys on the host`,
      cause: error,
    });
  }
  const timeout = error.level === 'client-timeout' || /timed out/i.test(error.message);
  return new ConnectError(host.name, `unreachable: ${where}: ${timeout ? 'connect timed out' : (error.code ?? error.message)}`, {
    hint: 'check that the host is up, that sshd listens on that port, and the route/firewall between here and it',
    cause: error,
  });
}

export class SshConnector implements Connector {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;
  private lost: Error | undefined;
  /** The client emitted 'close' (it does so once: close() must not wait for it again). */
  private ended = false;

  constructor(
    readonly host: string,
    private readonly client: Client,
    private readonly maxChannels: number,
  ) {
    client.on('error', (e) => {
      this.lost = e;
    });
    client.on('close', () => {
      this.ended = true;
      this.lost ??= new Error('connection closed');
    });
  }

  async run(command: string, options: RunOptions = {}): Promise<RunResult> {
    await this.acquire();
    try {
      return await this.exec(command, options);
    } finally {
      this.release();
    }
  }

  private exec(command: string, options: RunOptions): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      if (this.closed || this.lost) {
        reject(new ConnectError(this.host, `connection lost${this.lost ? `: ${this.lost.message}` : ''}`, { hint: 'the host went away during the run; check it and run again' }));
        return;
      }
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      let stream: ClientChannel | undefined;
      let settled = false;
      // The bound covers opening the channel too: on a stalled connection
      // the channel may never open.
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              // Answer now: sshd only reports the channel closed once the
              // command is gone. The command is abandoned, not ended: sshd
              // does not end a command whose channel closes and that never
              // writes, and refuses a client's signal to a root session
              // ("session signalling requires privilege separation", seen
              // with OpenSSH 9.2); ssh2 does not even send one once stdin is
              // closed, as it is here at once.
              settled = true;
              stream?.close();
              resolve({
                code: 124,
                stdout: Buffer.concat(out).toString('utf8'),
                stderr: `${Buffer.concat(errOut).toString('utf8')}hvmctl: timed out after ${options.timeoutMs} ms\n`,
                timedOut: true,
              });
            }, options.timeoutMs);
      this.client.exec(command, (err: Error | undefined, channel: ClientChannel) => {
        if (err) {
          if (timer) clearTimeout(timer);
          if (settled) return;
          settled = true;
          reject(new ConnectError(this.host, `cannot open a channel: ${err.message}`, { hint: 'the connection dropped, or sshd refused another session (MaxSessions)', cause: err }));
          return;
        }
        if (settled) {
          channel.close();
          return;
        }
        stream = channel;
        channel.on('data', (b: Buffer) => out.push(b));
        channel.stderr.on('data', (b: Buffer) => errOut.push(b));
        channel.on('close', (code: number | null, signal?: string) => {
          if (timer) clearTimeout(timer);
          if (settled) return;
          settled = true;
          if ((code === null || code === undefined) && signal === undefined && this.lost) {
            // No exit status: the connection died under the command (keepalive timeout, reset).
            reject(new ConnectError(this.host, `connection lost while running a command: ${this.lost.message}`, { hint: 'the host stopped answering (keepalives unanswered) or reset the connection; check it and run again' }));
            return;
          }
          resolve({
            code: code ?? (signal ? 128 + (signal === 'KILL' ? 9 : 15) : 255),
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(errOut).toString('utf8'),
          });
        });
        channel.end(options.input ?? '');
      });
    });
  }

  private acquire(): Promise<void> {
    if (this.active < this.maxChannels) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(() => resolve()));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active -= 1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A connection that died (keepalive timeout, reset) has emitted 'close'
    // already: waiting for it with only an unref'd timer left an apply whose
    // host was cut off with an empty event loop, and Node exited (code 13)
    // in the middle of the run, printing nothing.
    if (this.ended) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.end();
    });
  }
}
