// Comparing a live filter table with the wanted rules, for either address
// family (iptables-save and ip6tables-save print the same format, and the
// wanted rules are written in it): which hvmctl rules are missing, extra or
// out of order, which policies differ, how many foreign rules INPUT holds;
// and the restore input that replaces INPUT as a whole. Pure.
import { contains, isIpv4, parseCidr } from '../../src/inventory/ipv4.ts';
import { ipv6Contains, isIpv6 } from '../../src/inventory/ipv6.ts';
import { firewallPolicies } from '../../src/render/firewall-rules.ts';
import { type IpFamily, ipFamilyTools } from '../../src/render/ip-family.ts';
import type { Change } from '../engine/types.ts';
import { type FilterTable, isManaged } from '../facts/iptables.ts';

/** Whether the source `cidr` of a rule (`a.b.c.d/n`, `x::y/n`, or a bare address) covers `address`. */
function covers(cidr: string, address: string): boolean {
  const bare = cidr.split('/')[0] ?? '';
  if (isIpv4(bare) && isIpv4(address)) return contains(parseCidr(cidr.includes('/') ? cidr : `${cidr}/32`), address);
  if (isIpv6(bare) && isIpv6(address)) return ipv6Contains(cidr, address);
  return false;
}

/**
 * Whether `rules` (iptables-save or ip6tables-save lines) accept tcp `port`
 * from `address`: a rule on INPUT with `-s` covering it (or no `-s`),
 * `-p tcp`, that port, `-j ACCEPT`, on any interface.
 */
export function acceptsSsh(rules: readonly string[], address: string, port: number): boolean {
  return rules.some((line) => {
    if (!line.startsWith('-A INPUT ') || !/ -j ACCEPT$/.test(line) || !/ -p tcp /.test(line)) return false;
    if (!new RegExp(`--dport ${port}(\\s|$)`).test(line)) return false;
    if (/ -i /.test(line)) return false;
    const src = /-s (\S+)/.exec(line)?.[1];
    return src === undefined || covers(src, address);
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

/** How the live filter table differs from the wanted rules and policies. */
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
 * iptables-restore / ip6tables-restore input (for `--noflush`) that sets the
 * policies and replaces the INPUT chain with `rules`, leaving every other
 * chain alone.
 */
export function inputChainRestore(rules: readonly string[]): string {
  const policies = Object.entries(firewallPolicies).map(([chain, policy]) => `:${chain} ${policy} [0:0]`);
  return ['*filter', ...policies, '-F INPUT', ...rules, 'COMMIT', ''].join('\n');
}

/** How messages name the family: IPv4 keeps the wording it always had, IPv6 says which family it is about. */
const named: Readonly<Record<IpFamily, string>> = { ipv4: '', ipv6: 'IPv6 ' };

/** What one family's live table needs: a change (replace INPUT atomically), or nothing and why. */
export function planFamilyTable(family: IpFamily, wanted: readonly string[], live: FilterTable): { change?: Change; reason: string } {
  const drift = firewallDrift(wanted, live);
  const phrases = driftPhrases(drift);
  const others = drift.foreign === 0 ? '' : `; ${drift.foreign} rule(s) in INPUT without an hvmctl comment`;
  if (phrases.length === 0) {
    return { reason: `${named[family]}${wanted.length} hvmctl rules, INPUT policy ${firewallPolicies.INPUT}${others}` };
  }
  const dropping = drift.foreign === 0 ? '' : ` (INPUT is replaced as a whole: ${drift.foreign} rule(s) in it without an hvmctl comment go too)`;
  return {
    change: {
      summary: `load ${named[family]}firewall rules: ${phrases.join('; ')}${dropping}`,
      commands: [{ script: `${ipFamilyTools[family].restore} --noflush`, input: inputChainRestore(wanted) }],
      diff: phrases.map((p) => `${named[family]}${p}\n`).join(''),
    },
    reason: '',
  };
}
