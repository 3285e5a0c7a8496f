// Comparing a live filter table with the wanted rules, for either address
// family (iptables-save and ip6tables-save print the same format, and the
// wanted rules are written in it): which hvmctl rules are missing, extra or
// out of order, which policies differ, which foreign rules INPUT holds (kept,
// or removed and why: firewall-foreign.ts); and the restore input that
// rewrites INPUT in one step as libvirt's jumps, apply's rules, the kept
// foreign rules. Pure.
import { contains, isIpv4, parseCidr } from '../../src/inventory/ipv4.ts';
import { ipv6Contains, isIpv6 } from '../../src/inventory/ipv6.ts';
import { firewallPolicies } from '../../src/render/firewall-rules.ts';
import { type IpFamily, ipFamilyTools } from '../../src/render/ip-family.ts';
import type { Change } from '../engine/types.ts';
import { type FilterTable, isManaged } from '../facts/iptables.ts';
import { type ForeignRules, foreignInputRules, type GuestSegment, inputLine, wantedInputLayout } from './firewall-foreign.ts';

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
  /** Foreign rules before apply's own (other than libvirt's jumps): apply moves them after. */
  readonly ahead: readonly string[];
  /** Rules in INPUT without an hvmctl comment: kept (libvirt's, others) or removed. */
  readonly foreign: ForeignRules;
  /** INPUT as apply leaves it. */
  readonly layout: readonly string[];
}

const commentOf = (line: string): string => /--comment "([^"]*)"/.exec(line)?.[1] ?? line;

/** The hvmctl rules of `live` that are missing from `wanted` (as a multiset: a duplicate is one extra), and those missing from `live`. */
function managedDifference(wanted: readonly string[], liveManaged: readonly string[]): { missing: string[]; extra: string[] } {
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
  return { missing, extra };
}

/** How the live filter table differs from the wanted rules and policies. */
export function firewallDrift(family: IpFamily, wanted: readonly string[], live: FilterTable, guests: GuestSegment): FirewallDrift {
  const input = live.rules.filter((r) => r.chain === 'INPUT');
  const liveManaged = live.rules.filter(isManaged).map(inputLine);
  const { missing, extra } = managedDifference(wanted, liveManaged);
  const policies = Object.entries(firewallPolicies)
    .filter(([chain, policy]) => live.policies[chain] !== policy)
    .map(([chain, policy]) => `${chain} policy ${live.policies[chain] ?? 'missing'} -> ${policy}`);
  const reordered =
    missing.length === 0 && extra.length === 0 && liveManaged.length === wanted.length && liveManaged.some((l, i) => l !== wanted[i]);
  const foreign = foreignInputRules(family, live, guests);
  const lastManaged = input.reduce((last, r, i) => (isManaged(r) ? i : last), -1);
  const ahead = foreign.kept.filter((r) => input.indexOf(r) < lastManaged).map(inputLine);
  return { missing, extra, policies, reordered, ahead, foreign, layout: wantedInputLayout(wanted, foreign) };
}

export function driftPhrases(d: FirewallDrift, liveInput: readonly string[] = d.layout): string[] {
  const phrases = [
    ...d.missing.map((l) => `missing rule: ${commentOf(l)}`),
    ...d.extra.map((l) => `extra rule: ${commentOf(l)}`),
    ...d.policies,
    ...(d.reordered ? ['rules out of order'] : []),
    ...d.ahead.map((l) => `rule apply does not own ahead of apply's rules, moved after them: ${l}`),
    ...d.foreign.removed.map(({ rule, why }) => `removed rule apply does not own: ${inputLine(rule)} (${why})`),
  ];
  // What is left: libvirt's jumps after apply's rules (apply puts them back ahead, where libvirt inserts them).
  if (phrases.length === 0 && liveInput.join('\n') !== d.layout.join('\n')) phrases.push("libvirt's jumps moved ahead of apply's rules");
  return phrases;
}

/**
 * iptables-restore / ip6tables-restore input (for `--noflush`) that sets the
 * policies and rewrites the INPUT chain as `layout` (flush and refill in one
 * transaction), leaving every other chain alone.
 */
export function inputChainRestore(layout: readonly string[]): string {
  const policies = Object.entries(firewallPolicies).map(([chain, policy]) => `:${chain} ${policy} [0:0]`);
  return ['*filter', ...policies, '-F INPUT', ...layout, 'COMMIT', ''].join('\n');
}

/** How messages name the family: IPv4 keeps the wording it always had, IPv6 says which family it is about. */
const named: Readonly<Record<IpFamily, string>> = { ipv4: '', ipv6: 'IPv6 ' };

/** The foreign rules apply keeps, named (plan shows every one). */
function keptPhrase(foreign: ForeignRules): string {
  const kept = [...foreign.libvirt, ...foreign.kept].map(inputLine);
  return kept.length === 0 ? '' : `; kept ${kept.length} rule(s) apply does not own: ${kept.join(' | ')}`;
}

/** What one family's live table needs: a change (rewrite INPUT atomically), or nothing and why. */
export function planFamilyTable(family: IpFamily, wanted: readonly string[], live: FilterTable, guests: GuestSegment): { change?: Change; reason: string } {
  const drift = firewallDrift(family, wanted, live, guests);
  const phrases = driftPhrases(drift, live.rules.filter((r) => r.chain === 'INPUT').map(inputLine));
  const kept = keptPhrase(drift.foreign);
  if (phrases.length === 0) {
    return { reason: `${named[family]}${wanted.length} hvmctl rules, INPUT policy ${firewallPolicies.INPUT}${kept}` };
  }
  return {
    change: {
      summary: `load ${named[family]}firewall rules: ${phrases.join('; ')}${kept}`,
      commands: [{ script: `${ipFamilyTools[family].restore} --noflush`, input: inputChainRestore(drift.layout) }],
      diff: phrases.map((p) => `${named[family]}${p}\n`).join(''),
    },
    reason: '',
  };
}
