// The one connector factory for hosts of the inventory, and the one place its
// overrides and guard are applied:
//   - HVMCTL_IDENTITY / HVMCTL_KNOWN_HOSTS replace the inventory's ssh.identity
//     and ssh.known_hosts (relative to the working directory; the lab sets them);
//   - the lab's route guard (route-guard.ts) stands in front of every
//     connection while a lab is up on this machine, or HVMCTL_LAB_ONLY=1, or
//     the caller says the hosts are the lab's (`lab demo`);
// then SSH as ssh.user with the operator's key and pinned host keys (ssh.ts),
// and sudo when ssh.user is not root (sudo.ts). apply, plan, `balance` and
// `lab demo` all connect through hostConnector(); a caller never picks its
// own guard or key.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { HostSpec, Inventory } from '../inventory/types.ts';
import type { Connector } from './connector.ts';
import { LAB_STATE, labRouteGuard } from './route-guard.ts';
import { connectSsh } from './ssh.ts';
import { withSudo } from './sudo.ts';

export interface ConnectSettings {
  /** Read for HVMCTL_IDENTITY, HVMCTL_KNOWN_HOSTS and HVMCTL_LAB_ONLY. */
  readonly env: NodeJS.ProcessEnv;
  /** Where relative paths in the overrides start (default: this process's). */
  readonly cwd?: string;
  /** The hosts are the lab's: guard every connection, whether a lab is up yet or not. */
  readonly labOnly?: boolean;
  /** Whether a lab is up on this machine (asked at each connection). */
  readonly labIsUp?: () => boolean;
}

export interface HostConnectOptions {
  /** Bound of the TCP connect and SSH handshake (and of the sudo probe). */
  readonly connectTimeoutMs?: number;
}

export type ConnectHost = (inv: Inventory, host: HostSpec, options?: HostConnectOptions) => Promise<Connector>;

export function hostConnector(settings: ConnectSettings): ConnectHost {
  const labIsUp = settings.labIsUp ?? (() => existsSync(LAB_STATE));
  return async (inv, host, options = {}) => {
    const ssh = withEnvOverrides(inv, settings.env, settings.cwd).ssh;
    const guarded = settings.labOnly === true || settings.env.HVMCTL_LAB_ONLY === '1' || labIsUp();
    const connector = await connectSsh(host, {
      user: ssh.user,
      identity: ssh.identity,
      knownHosts: ssh.knownHosts,
      ...(guarded ? { guard: labRouteGuard } : {}),
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    });
    return ssh.user === 'root' ? connector : withSudo(connector, ssh.user, options.connectTimeoutMs);
  };
}

/** The inventory with HVMCTL_IDENTITY / HVMCTL_KNOWN_HOSTS in place of its ssh paths (the same object when neither is set). */
export function withEnvOverrides(inv: Inventory, env: NodeJS.ProcessEnv, cwd: string = process.cwd()): Inventory {
  const identity = env.HVMCTL_IDENTITY;
  const knownHosts = env.HVMCTL_KNOWN_HOSTS;
  if (!identity && !knownHosts) return inv;
  return { ...inv, ssh: { ...inv.ssh, ...(identity ? { identity: resolve(cwd, identity) } : {}), ...(knownHosts ? { knownHosts: resolve(cwd, knownHosts) } : {}) } };
}
