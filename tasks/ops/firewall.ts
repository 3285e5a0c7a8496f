// The firewall: the rules file apply persists (a whole managed file, through
// the file task) and the LIVE ruleset, compared rule by rule. Every rule apply
// writes carries an `hvmctl: <what>` comment, so drift is named ("missing
// rule: hvmctl: migration from kvmnode2"). When the live table differs, the
// whole table is replaced at once with `iptables-restore` (atomic: there is
// no moment with half the rules). The wanted rules always accept SSH from the
// operator's address (see src/render/firewall-rules.ts); `plan` refuses to
// apply a ruleset that would not, so a default-drop policy cannot lock the
// operator out.
import { contains, parseCidr } from '../../src/inventory/ipv4.ts';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { firewallPolicies } from '../../src/render/firewall-rules.ts';
import { managedFiles, wantedFirewallRules } from '../../src/render/managed-files.ts';
import type { ManagedFile } from '../../src/render/types.ts';
import type { Change, Task, TaskContext, TaskResult } from '../engine/types.ts';
import { type FirewallTools, firewallTools } from '../facts/firewall-backend.ts';
import { type FirewalldState, firewalldZone } from '../facts/firewalld.ts';
import { type FilterTable, iptablesFilter, isManaged } from '../facts/iptables.ts';
import { filesTask } from './file.ts';
import { planFirewalld, wantedRichRules } from './firewall-firewalld.ts';
import { TaskCheckError } from './task-error.ts';

export type Backend = 'firewalld' | 'nftables' | 'iptables';

/** The operator's address as the firewall sees it: IPv4 only (iptables here is IPv4), `::ffff:a.b.c.d` unwrapped. */
export function operatorIpv4(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const v4 = address.replace(/^::ffff:/i, '');
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(v4) ? v4 : undefined;
}

function extra(ctx: Pick<TaskContext, 'operatorAddress'>): { operatorAddress?: string } {
  const op = operatorIpv4(ctx.operatorAddress);
  return op === undefined ? {} : { operatorAddress: op };
}

export function firewallFile(ctx: Pick<TaskContext, 'inventory' | 'host' | 'operatorAddress'>): ManagedFile {
  const file = managedFiles(ctx.inventory, ctx.host, extra(ctx)).find((f) => f.tags.includes('firewall'));
  if (!file) throw new TaskCheckError('E_FIREWALL', `${ctx.host.name}: no firewall rules file rendered`, 'this is a bug in src/render/managed-files.ts');
  return file;
}

/** Which backend to drive: the inventory's choice, or for `auto` firewalld when it runs, else iptables, else nftables. */
export function chooseBackend(wanted: Inventory['firewall']['backend'], tools: FirewallTools): Backend | undefined {
  if (wanted !== 'auto') return wanted;
  if (tools.firewalldRunning) return 'firewalld';
  if (tools.iptablesRestore) return 'iptables';
  if (tools.nft) return 'nftables';
  return undefined;
}

/**
 * Whether `rules` (iptables-save lines) accept tcp `port` from `address`:
 * a rule on INPUT with `-s` covering it (or no `-s`), `-p tcp`, that port, `-j ACCEPT`.
 */
export function acceptsSsh(rules: readonly string[], address: string, port: number): boolean {
  return rules.some((line) => {
    if (!line.startsWith('-A INPUT ') || !/ -j ACCEPT$/.test(line) || !/ -p tcp /.test(line)) return false;
    if (!new RegExp(`--dport ${port}(\\s|$)`).test(line)) return false;
    if (/ -i /.test(line)) return false;
    const src = /-s (\S+)/.exec(line)?.[1];
    if (src === undefined) return true;
    return contains(parseCidr(src.includes('/') ? src : `${src}/32`), address);
  });
}

export interface FirewallDrift {
  readonly missing: readonly string[];
  readonly extra: readonly string[];
  readonly policies: readonly string[];
  readonly reordered: boolean;
  /** Rules in INPUT without an hvmctl comment (replacing INPUT removes them too). */
  readonly foreign: number;
}

const commentOf = (line: string): string => /--comment "([^"]*)"/.exec(line)?.[1] ?? line;

/** Pure: how the live filter table differs from the wanted rules and policies. */
export function firewallDrift(wanted: readonly string[], live: FilterTable): FirewallDrift {
  const liveManaged = live.rules.filter(isManaged).map((r) => `-A ${r.chain} ${r.spec}`);
  // Multisets: a rule present twice is one extra (a duplicate).
  const remaining = new Map<string, number>();
  for (const l of liveManaged) remaining.set(l, (remaining.get(l) ?? 0) + 1);
  const missing: string[] = [];
  for (const l of wanted) {
    const n = remaining.get(l) ?? 0;
    if (n > 0) remaining.set(l, n - 1);
    else missing.push(l);
  }
  const extra = liveManaged.filter((l) => {
    const n = remaining.get(l) ?? 0;
    if (n === 0) return false;
    remaining.set(l, n - 1);
    return true;
  });
  const policies = Object.entries(firewallPolicies)
    .filter(([chain, policy]) => live.policies[chain] !== policy)
    .map(([chain, policy]) => `${chain} policy ${live.policies[chain] ?? 'missing'} -> ${policy}`);
  const reordered =
    missing.length === 0 && extra.length === 0 && liveManaged.length === wanted.length && liveManaged.some((l, i) => l !== wanted[i]);
  return { missing, extra, policies, reordered, foreign: live.rules.filter((r) => r.chain === 'INPUT' && !isManaged(r)).length };
}

export function driftPhrases(d: FirewallDrift): string[] {
  return [
    ...d.missing.map((l) => `missing rule: ${commentOf(l)}`),
    ...d.extra.map((l) => `extra rule: ${commentOf(l)}`),
    ...d.policies,
    ...(d.reordered ? ['rules out of order'] : []),
  ];
}

/**
 * iptables-restore input (for `--noflush`) that sets the policies and
 * replaces the INPUT chain with `rules`, leaving every other chain alone.
 */
export function inputChainRestore(rules: readonly string[]): string {
  const policies = Object.entries(firewallPolicies).map(([chain, policy]) => `:${chain} ${policy} [0:0]`);
  return ['*filter', ...policies, '-F INPUT', ...rules, 'COMMIT', ''].join('\n');
}

interface LiveFacts extends Record<string, unknown> {
  tools: FirewallTools;
  live: FilterTable | undefined;
  /** firewalld's hvmctl zone; only read when the backend is firewalld. */
  firewalld?: FirewalldState;
}

/** Pure: the change that makes the live iptables filter table match the rules file's content. */
export function planLiveFirewall(
  host: HostSpec,
  backendSetting: Inventory['firewall']['backend'],
  file: ManagedFile,
  wanted: readonly string[],
  operator: string | undefined,
  facts: LiveFacts,
): TaskResult {
  const backend = chooseBackend(backendSetting, facts.tools);
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
  if (operator !== undefined && !acceptsSsh(wanted, operator, host.sshPort)) {
    throw new TaskCheckError(
      'E_FIREWALL_LOCKOUT',
      `${host.name}: the wanted firewall rules would not accept SSH from the operator's address ${operator}; not applied`,
      'this is a bug in src/render/firewall-rules.ts: the operator rule is missing',
    );
  }
  if (facts.live === undefined) {
    throw new TaskCheckError('E_FIREWALL_BACKEND', `${host.name}: iptables-save not found`, 'install the iptables package');
  }
  const drift = firewallDrift(wanted, facts.live);
  const phrases = driftPhrases(drift);
  const others = drift.foreign === 0 ? '' : `; ${drift.foreign} rule(s) in INPUT without an hvmctl comment`;
  if (phrases.length === 0) {
    return { changes: [], reason: `live firewall matches: ${wanted.length} hvmctl rules, INPUT policy ${firewallPolicies.INPUT}${others}` };
  }
  const dropping = drift.foreign === 0 ? '' : ` (INPUT is replaced as a whole: ${drift.foreign} rule(s) in it without an hvmctl comment go too)`;
  const change: Change = {
    summary: `load firewall rules: ${phrases.join('; ')}${dropping}`,
    commands: [{ script: 'iptables-restore --noflush', input: inputChainRestore(wanted) }],
    diff: phrases.map((p) => `${p}\n`).join(''),
  };
  return { changes: [change], reason: '' };
}

const rulesFileTask = filesTask({
  name: 'firewall rules file',
  tags: ['firewall'],
  stage: 'base',
  files: (ctx) => [firewallFile(ctx)],
});

/** The iptables rules file; skipped where firewalld is the backend (it persists its own zone, and the reload handler would load iptables rules beside it). */
export const firewallRulesFileTask: Task = {
  ...rulesFileTask,
  facts: (ctx) => ({ ...rulesFileTask.facts(ctx), 'firewall-tools': firewallTools }),
  plan(ctx, facts) {
    const { 'firewall-tools': tools, ...files } = facts;
    if (chooseBackend(ctx.inventory.firewall.backend, tools as FirewallTools) === 'firewalld') {
      return { changes: [], reason: 'skipped: firewalld is the backend; its zone hvmctl is persisted by firewalld' };
    }
    return rulesFileTask.plan(ctx, files as Parameters<typeof rulesFileTask.plan>[1]);
  },
};

export const firewallLiveTask: Task<LiveFacts> = {
  name: 'firewall live rules',
  tags: ['firewall'],
  stage: 'base',
  applies: () => true,
  facts: () => ({ tools: firewallTools, live: iptablesFilter, firewalld: firewalldZone }),
  plan(ctx, facts) {
    const operator = operatorIpv4(ctx.operatorAddress);
    if (chooseBackend(ctx.inventory.firewall.backend, facts.tools) === 'firewalld') {
      if (facts.firewalld === undefined) throw new TaskCheckError('E_FIREWALL_BACKEND', `${ctx.host.name}: firewalld state not gathered`, 'this is a bug in tasks/ops/firewall.ts');
      return planFirewalld(ctx.host, wantedRichRules(ctx.inventory, ctx.host, operator), operator, facts.firewalld);
    }
    return planLiveFirewall(
      ctx.host,
      ctx.inventory.firewall.backend,
      firewallFile(ctx),
      wantedFirewallRules(ctx.inventory, ctx.host, extra(ctx)),
      operator,
      facts,
    );
  },
};

export const firewallTasks: readonly Task[] = [firewallRulesFileTask, firewallLiveTask as Task];
