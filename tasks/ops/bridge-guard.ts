// The bridge guard (issue: guests on the bridge): on each hypervisor, a table
// of the bridge family drops every frame that enters a bridge through a port
// other than the uplink (a guest's tap) with a cluster host's IPv4 source or
// ARP sender address, a host's source MAC, or a VLAN tag
// (templates/bridge-guard.nft.hbs). The export and the
// firewall trust the hosts' addresses; a /32 is a boundary only if no guest
// can claim it, and the guests share the hosts' segment. The firewall cannot
// tell: a forged packet, or one sent after an ARP reply that took the address,
// arrives from the right address. The hypervisor can: it sees the port.
//   - the rules file and its boot unit (a whole file each; a change loads the
//     rules and enables the unit: handler bridge-guard-load);
//   - the table as it runs: missing (flushed by hand, a reboot without the
//     unit) means it is loaded again.
// Every frame from the uplink passes: the hosts' own traffic, and what other
// machines of the LAN send, which this host cannot police. So the uplink's
// name must be right: a wrong one would drop the other hosts' traffic. The
// tasks run in the hypervisor stage, after the base stage's network restart
// was confirmed (a host whose restart failed, and went back to its previous
// network files, runs nothing more), so the guard only ever names an uplink
// the host was reached over.
import { isHypervisor } from '../../src/inventory/types.ts';
import { BRIDGE_GUARD, managedFiles } from '../../src/render/managed-files.ts';
import { sh } from '../../src/shell.ts';
import type { Fact, Task } from '../engine/types.ts';
import { ABSENT, unexpected } from '../facts/result.ts';
import { filesTask } from './file.ts';

export const bridgeGuardFilesTask: Task = filesTask({
  name: 'bridge guard files',
  tags: ['firewall', 'guard'],
  stage: 'hypervisor',
  applies: isHypervisor,
  files: (ctx) => managedFiles(ctx.inventory, ctx.host).filter((f) => f.tags.includes('guard')),
});

/** Whether the guard's table is loaded (`nft list table`), as it runs. */
export const guardTable: Fact<boolean> = {
  key: `nft:bridge:${BRIDGE_GUARD.table}`,
  command: `command -v nft >/dev/null 2>&1 || exit ${ABSENT}\n${sh`nft list table bridge ${BRIDGE_GUARD.table}`} >/dev/null 2>&1 && echo loaded || echo missing`,
  parse: (result) => {
    const out = result.stdout.trim();
    if (result.code === 0 && (out === 'loaded' || out === 'missing')) return out === 'loaded';
    throw unexpected(`nft (table bridge ${BRIDGE_GUARD.table})`, result, 'install nftables (the packages task does on a normal apply)');
  },
};

export const bridgeGuardLiveTask: Task<{ loaded: boolean }> = {
  name: 'bridge guard',
  tags: ['firewall', 'guard'],
  stage: 'hypervisor',
  applies: isHypervisor,
  facts: () => ({ loaded: guardTable }),
  plan: (_ctx, facts) =>
    facts.loaded
      ? { changes: [], reason: `table bridge ${BRIDGE_GUARD.table} loaded` }
      : { changes: [{ summary: `load ${BRIDGE_GUARD.file} (table bridge ${BRIDGE_GUARD.table} is missing)`, commands: [], notify: ['bridge-guard-load'] }], reason: '' },
};

export const bridgeGuardTasks: readonly Task[] = [bridgeGuardFilesTask, bridgeGuardLiveTask as Task];
