// Fact: which firewall front-ends a host has, and chooseBackend(), which
// resolves `backend: auto` from it (firewalld when it runs, else iptables,
// else nftables).
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import type { Inventory } from '../../src/inventory/types.ts';
import type { Fact } from '../engine/types.ts';

export type Backend = 'firewalld' | 'nftables' | 'iptables';

export interface FirewallTools {
  /** firewall-cmd exists and `firewall-cmd --state` says running. */
  readonly firewalldRunning: boolean;
  readonly firewallCmd: boolean;
  readonly nft: boolean;
  readonly iptablesRestore: boolean;
}

export const firewallTools: Fact<FirewallTools> = {
  key: 'firewall-tools',
  command: [
    'for c in firewall-cmd nft iptables-restore; do if command -v "$c" >/dev/null 2>&1; then echo "$c=yes"; else echo "$c=no"; fi; done',
    'if command -v firewall-cmd >/dev/null 2>&1 && firewall-cmd --state >/dev/null 2>&1; then echo firewalld=running; else echo firewalld=stopped; fi',
  ].join('\n'),
  parse: parseFirewallTools,
};

export function parseFirewallTools(result: RunResult): FirewallTools {
  const values = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const m = /^([\w-]+)=(\w+)$/.exec(line.trim());
    if (m) values.set(m[1] ?? '', m[2] ?? '');
  }
  for (const key of ['firewall-cmd', 'nft', 'iptables-restore', 'firewalld']) {
    if (!values.has(key)) throw new ParseError('firewall tools', `no '${key}=' line in ${JSON.stringify(result.stdout)}`);
  }
  return {
    firewallCmd: values.get('firewall-cmd') === 'yes',
    nft: values.get('nft') === 'yes',
    iptablesRestore: values.get('iptables-restore') === 'yes',
    firewalldRunning: values.get('firewalld') === 'running',
  };
}

/** Which backend to drive: the inventory's choice, or for `auto` firewalld when it runs, else iptables, else nftables. */
export function chooseBackend(wanted: Inventory['firewall']['backend'], tools: FirewallTools): Backend | undefined {
  if (wanted !== 'auto') return wanted;
  if (tools.firewalldRunning) return 'firewalld';
  if (tools.iptablesRestore) return 'iptables';
  if (tools.nft) return 'nftables';
  return undefined;
}
