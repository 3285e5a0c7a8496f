// The firewall: the rules files apply persists (whole managed files, one per
// address family, through the file task) and the LIVE rulesets, compared rule
// by rule (tasks/ops/firewall-live.ts). Every rule apply writes carries an
// `hvmctl: <what>` comment, so drift is named ("missing rule: hvmctl:
// migration from kvmnode2"). When a live table differs, its INPUT chain is
// rewritten at once with `iptables-restore` / `ip6tables-restore` (atomic:
// there is no moment with half the rules): libvirt's jumps, apply's rules,
// then the rules of other administrators, kept (firewall-foreign.ts says
// which, and why a rule accepting from the guests' segment is not). The wanted rules always accept SSH
// from the operator's address, in the family the operator connects over (see
// src/render/firewall-rules.ts); `plan` refuses to apply a ruleset that would
// not, so a default-drop policy cannot lock the operator out. The boot-time
// loader of both files is tasks/ops/firewall-boot.ts.
import { isIpv4 } from '../../src/inventory/ipv4.ts';
import { canonicalIpv6, isIpv6 } from '../../src/inventory/ipv6.ts';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { type IpFamily, ipFamilyTools } from '../../src/render/ip-family.ts';
import { firewallRulesPath, ipFamilies, managedFiles, wantedFamilyRules } from '../../src/render/managed-files.ts';
import type { ManagedFile } from '../../src/render/types.ts';
import type { Change, Task, TaskContext, TaskResult } from '../engine/types.ts';
import { chooseBackend, type FirewallTools, firewallTools } from '../facts/firewall-backend.ts';
import { type FirewalldState, firewalldZone } from '../facts/firewalld.ts';
import { type FilterTable, IPV6_DISABLED, ip6tablesFilter, iptablesFilter } from '../facts/iptables.ts';
import { filesTask } from './file.ts';
import { firewallBootTask } from './firewall-boot.ts';
import { planFirewalld, wantedRichRules } from './firewall-firewalld.ts';
import type { GuestSegment } from './firewall-foreign.ts';
import { acceptsSsh, planFamilyTable } from './firewall-live.ts';
import { TaskCheckError } from './task-error.ts';

export { type Backend, chooseBackend } from '../facts/firewall-backend.ts';

/**
 * The operator's address as the firewall sees it: IPv4 (`::ffff:a.b.c.d`
 * unwrapped) or IPv6 in canonical form, without the `%zone` sshd adds to a
 * link-local peer (the zone names this host's interface, not the operator).
 */
export function operatorAddress(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const v4 = address.replace(/^::ffff:/i, '');
  if (isIpv4(v4)) return v4;
  const v6 = address.replace(/%.*$/, '');
  return isIpv6(v6) ? canonicalIpv6(v6) : undefined;
}

/** The operator's IPv4 address, when it connects over IPv4 (firewalld's rich rules are IPv4 only). */
export function operatorIpv4(address: string | undefined): string | undefined {
  const op = operatorAddress(address);
  return op !== undefined && isIpv4(op) ? op : undefined;
}

function extra(ctx: Pick<TaskContext, 'operatorAddress'>): { operatorAddress?: string } {
  const op = operatorAddress(ctx.operatorAddress);
  return op === undefined ? {} : { operatorAddress: op };
}

/** The rules file of `family` rendered for ctx.host (with the operator's address). */
export function firewallFile(ctx: Pick<TaskContext, 'inventory' | 'host' | 'operatorAddress'>, family: IpFamily = 'ipv4'): ManagedFile {
  const path = firewallRulesPath(ctx.host, family);
  const file = managedFiles(ctx.inventory, ctx.host, extra(ctx)).find((f) => f.path === path && f.tags.includes('firewall'));
  if (!file) throw new TaskCheckError('E_FIREWALL', `${ctx.host.name}: no ${ipFamilyTools[family].label} firewall rules file rendered`, 'this is a bug in src/render/managed-files.ts');
  return file;
}

/** The wanted INPUT rules of both families for ctx.host. */
export function wantedRules(ctx: Pick<TaskContext, 'inventory' | 'host' | 'operatorAddress'>): Record<IpFamily, string[]> {
  return { ipv4: wantedFamilyRules('ipv4', ctx.inventory, ctx.host, extra(ctx)), ipv6: wantedFamilyRules('ipv6', ctx.inventory, ctx.host, extra(ctx)) };
}

/** Where the guests are: the cluster network and its bridge. */
export function guestSegment(inv: Inventory): GuestSegment {
  return { network: inv.cluster.network, bridge: inv.cluster.bridge };
}

export interface LiveFacts extends Record<string, unknown> {
  tools: FirewallTools;
  /** The live IPv4 filter table (undefined: no iptables-save). */
  live: FilterTable | undefined;
  /** The live IPv6 filter table (undefined: no ip6tables-save). */
  live6: FilterTable | undefined | typeof IPV6_DISABLED;
  /** firewalld's hvmctl zone; only read when the backend is firewalld. */
  firewalld?: FirewalldState;
}

function requireIptablesBackend(host: HostSpec, backendSetting: Inventory['firewall']['backend'], tools: FirewallTools): void {
  const backend = chooseBackend(backendSetting, tools);
  if (backend === undefined) {
    throw new TaskCheckError('E_FIREWALL_BACKEND', `${host.name}: no firewall tool found (firewall-cmd, nft, iptables-restore)`, 'install the iptables package (the packages task does on a normal apply)');
  }
  if (backend !== 'iptables') {
    throw new TaskCheckError(
      'E_FIREWALL_BACKEND',
      `${host.name}: firewall backend ${backend} is not supported yet${backendSetting === 'auto' ? ' (chosen by backend: auto)' : ''}`,
      backend === 'firewalld'
        ? 'stop and disable firewalld and set `firewall.backend: iptables`, or open the ports by hand'
        : 'install iptables (iptables-nft writes nftables rules too) and set `firewall.backend: iptables`',
    );
  }
}

/** Pure: the changes that make the live IPv4 and IPv6 filter tables match the wanted rules (the rules files' content). */
export function planLiveFirewall(
  host: HostSpec,
  backendSetting: Inventory['firewall']['backend'],
  wanted: Readonly<Record<IpFamily, readonly string[]>>,
  operator: string | undefined,
  facts: LiveFacts,
  guests: GuestSegment,
): TaskResult {
  requireIptablesBackend(host, backendSetting, facts.tools);
  if (operator !== undefined) {
    const family: IpFamily = isIpv4(operator) ? 'ipv4' : 'ipv6';
    if (!acceptsSsh(wanted[family], operator, host.sshdPort)) {
      throw new TaskCheckError(
        'E_FIREWALL_LOCKOUT',
        `${host.name}: the wanted ${ipFamilyTools[family].label} firewall rules would not accept SSH from the operator's address ${operator}; not applied`,
        'this is a bug in src/render/firewall-rules.ts: the operator rule is missing',
      );
    }
  }
  const live: Record<IpFamily, LiveFacts['live6']> = { ipv4: facts.live, ipv6: facts.live6 };
  const changes: Change[] = [];
  const reasons: string[] = [];
  for (const family of ipFamilies) {
    const table = live[family];
    if (table === IPV6_DISABLED) {
      reasons.push('IPv6 disabled in the kernel (no /proc/sys/net/ipv6): no IPv6 table to filter');
      continue;
    }
    if (table === undefined) {
      throw new TaskCheckError('E_FIREWALL_BACKEND', `${host.name}: ${ipFamilyTools[family].save} not found`, 'install the iptables package (it ships ip6tables too)');
    }
    const r = planFamilyTable(family, wanted[family], table, guests);
    if (r.change) changes.push(r.change);
    else reasons.push(r.reason);
  }
  return changes.length > 0 ? { changes, reason: '' } : { changes: [], reason: `live firewall matches: ${reasons.join('; ')}` };
}

const rulesFileTask = filesTask({
  name: 'firewall rules file',
  tags: ['firewall'],
  stage: 'base',
  files: (ctx) => ipFamilies.map((family) => firewallFile(ctx, family)),
});

/** The iptables rules files; skipped where firewalld is the backend (it persists its own zone, and the reload handler would load iptables rules beside it). */
export const firewallRulesFileTask: Task = {
  ...rulesFileTask,
  facts: (ctx) => ({ ...rulesFileTask.facts(ctx), 'firewall-tools': firewallTools }),
  plan(ctx, facts) {
    const { 'firewall-tools': tools, ...files } = facts;
    if (chooseBackend(ctx.inventory.firewall.backend, tools as FirewallTools) === 'firewalld') {
      return { changes: [], reason: 'firewalld is the backend; its zone hvmctl is persisted by firewalld', skipped: true };
    }
    return rulesFileTask.plan(ctx, files as Parameters<typeof rulesFileTask.plan>[1]);
  },
};

export const firewallLiveTask: Task<LiveFacts> = {
  name: 'firewall live rules',
  tags: ['firewall'],
  stage: 'base',
  applies: () => true,
  facts: () => ({ tools: firewallTools, live: iptablesFilter, live6: ip6tablesFilter, firewalld: firewalldZone }),
  plan(ctx, facts) {
    if (chooseBackend(ctx.inventory.firewall.backend, facts.tools) === 'firewalld') {
      const operator = operatorIpv4(ctx.operatorAddress);
      if (facts.firewalld === undefined) throw new TaskCheckError('E_FIREWALL_BACKEND', `${ctx.host.name}: firewalld state not gathered`, 'this is a bug in tasks/ops/firewall.ts');
      return planFirewalld(ctx.host, wantedRichRules(ctx.inventory, ctx.host, operator), operator, facts.firewalld);
    }
    return planLiveFirewall(ctx.host, ctx.inventory.firewall.backend, wantedRules(ctx), operatorAddress(ctx.operatorAddress), facts, guestSegment(ctx.inventory));
  },
};

export const firewallTasks: readonly Task[] = [firewallRulesFileTask, firewallLiveTask as Task, firewallBootTask as Task];
