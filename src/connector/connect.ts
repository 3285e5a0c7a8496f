// The one connector factory for hosts of the inventory: SSH as ssh.user with
// the operator's key and pinned host keys (ssh.ts), the caller's guard in
// front (the lab's route check), and sudo when ssh.user is not root
// (sudo.ts). apply, plan, `lab demo` and `balance` all connect through it.
import type { HostSpec, Inventory } from '../inventory/types.ts';
import type { Connector } from './connector.ts';
import { connectSsh, type SshOptions } from './ssh.ts';
import { withSudo } from './sudo.ts';

export type HostConnectOptions = Partial<Omit<SshOptions, 'user'>>;

export async function connectHost(inv: Inventory, host: HostSpec, options: HostConnectOptions = {}): Promise<Connector> {
  const ssh = await connectSsh(host, { identity: inv.ssh.identity, knownHosts: inv.ssh.knownHosts, ...options, user: inv.ssh.user });
  return inv.ssh.user === 'root' ? ssh : withSudo(ssh, inv.ssh.user, options.connectTimeoutMs);
}
