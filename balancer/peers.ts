// How the agent reaches a hypervisor, through the Connector interface like
// every other part of hvmctl: the host it runs on through the local connector,
// the others through the system's `ssh` (src/connector/system-ssh.ts) over the
// root SSH trust apply sets up between hypervisors. The system ssh, not ssh2:
// a hypervisor has only Node and the OS, and the agent's bundle stays small.
// libvirt's own traffic to the peers (qemu+ssh:// URIs) is virsh's, in libvirt.ts.
import type { Connector } from '../src/connector/connector.ts';
import { LocalConnector } from '../src/connector/local.ts';
import { SystemSshConnector, type SshTarget } from '../src/connector/system-ssh.ts';
import { runProcess, type RunProcess } from '../src/process.ts';

/** The connector to a hypervisor of the configuration by name; undefined for a host it does not list. */
export type Peers = (host: string) => Connector | undefined;

export function createPeers(self: string, hosts: readonly SshTarget[], run: RunProcess = runProcess): Peers {
  return (host) => {
    if (host === self) return new LocalConnector(self, run);
    const target = hosts.find((h) => h.name === host);
    return target ? new SystemSshConnector(target, run) : undefined;
  };
}
