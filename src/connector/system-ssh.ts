// The connector that runs the system's `ssh` binary (OpenSSH, through the one
// local runner): what the balancer agent uses to reach the other hypervisors,
// where only Node and the OS are installed. It relies on what apply sets up
// there: root's key trusted by the peers, their host keys pinned in root's
// known_hosts (StrictHostKeyChecking=yes, BatchMode: never a prompt). The
// operator's side uses ssh.ts (ssh2, one connection reused) instead; this one
// stays free of ssh2, so the agent's bundle does too.
import { runProcess, type RunProcess } from '../process.ts';
import type { Connector, RunOptions, RunResult } from './connector.ts';
import { connectorResult } from './local.ts';

/** Where a peer's sshd listens. */
export interface SshTarget {
  /** Inventory name, for messages. */
  readonly name: string;
  /** The name ssh connects to (the peer's FQDN). */
  readonly fqdn: string;
  /** The port its sshd listens on (22 when absent). */
  readonly sshPort?: number;
}

/** ssh as root to `fqdn`'s sshd port; `command` is one shell command line, built with `sh`. */
export function sshArgv(fqdn: string, command: string, port = 22): string[] {
  return ['ssh', '-p', String(port), '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'StrictHostKeyChecking=yes', `root@${fqdn}`, '--', command];
}

export class SystemSshConnector implements Connector {
  readonly host: string;
  constructor(
    private readonly target: SshTarget,
    private readonly run_: RunProcess = runProcess,
  ) {
    this.host = target.name;
  }

  /** One `ssh` per command. A timeout ends the local ssh (SIGTERM, then SIGKILL); code 255 is ssh's own failure (unreachable, host key). */
  async run(command: string, options: RunOptions = {}): Promise<RunResult> {
    const r = await this.run_(sshArgv(this.target.fqdn, command, this.target.sshPort), {
      ...(options.input === undefined ? {} : { input: options.input }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    return connectorResult(r, options.timeoutMs);
  }

  async close(): Promise<void> {}
}
