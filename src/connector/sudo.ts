// Non-root SSH: `ssh.user` may be a user with password-less sudo instead of
// root. Every command apply runs then goes through `sudo -n` as one
// `sh -c` (the command quoted whole), with its standard input passed
// through untouched: file contents, even secret ones, reach the command's
// stdin, never a prompt and never sudo's log (which records the command
// line, and command lines carry no secret). `-n` means sudo never asks: a
// user who would need a password is refused when the connection opens, with
// a hint, instead of hanging on a prompt no one answers. SSH_CLIENT (the
// operator's address, which the firewall keeps open) is handed over
// explicitly: sudo's env_reset drops it.
import { ConnectError } from '../errors.ts';
import { quote } from '../shell.ts';
import type { Connector, RunOptions, RunResult } from './connector.ts';

/** `command` as root through sudo: never prompts, SSH_CLIENT kept. */
export function sudoCommand(command: string): string {
  return `sudo -n -- env "SSH_CLIENT=\${SSH_CLIENT:-}" sh -c ${quote(command)}`;
}

/** The probe run once per connection: can this user become root without a password? */
export const SUDO_PROBE = 'sudo -n true';

export class SudoConnector implements Connector {
  readonly host: string;
  constructor(private readonly inner: Connector) {
    this.host = inner.host;
  }
  run(command: string, options?: RunOptions): Promise<RunResult> {
    return this.inner.run(sudoCommand(command), options);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** `inner` (logged in as `user`) with every command run as root, once sudo -n is known to work. */
export async function withSudo(inner: Connector, user: string, timeoutMs = 15_000): Promise<Connector> {
  const probe = await inner.run(SUDO_PROBE, { timeoutMs });
  if (probe.code === 0) return new SudoConnector(inner);
  await inner.close().catch(() => undefined);
  const why = probe.timedOut ? `no answer within ${timeoutMs / 1000} s` : (probe.stderr.trim().split('\n').pop() ?? `exit ${probe.code}`);
  throw new ConnectError(inner.host, `ssh.user ${user} cannot run commands as root with 'sudo -n' (${why})`, {
    hint: `give ${user} password-less sudo on the host (e.g. '${user} ALL=(ALL) NOPASSWD: ALL' in /etc/sudoers.d/hvmctl, and no 'Defaults requiretty'), or set ssh.user: root; apply never types a password`,
  });
}
