// The firewall on hosts where firewalld runs: a dedicated zone `hvmctl`,
// target DROP, made the default zone, holding one rich rule per accepted
// flow, the same flows as the iptables rules (src/render/firewall-flows.ts):
// ping and SSH from each other host, (storage) NFS from each hypervisor,
// libvirt and migration ports from each other hypervisor, each from one
// address (/32), and SSH from the operator's address. firewalld itself
// accepts loopback and replies in every zone.
// Rules are changed in the PERMANENT configuration (persisted by firewalld),
// then `firewall-cmd --reload` loads them; the default zone is switched after
// the reload (so the zone exists at runtime). Every rich rule in the zone is
// hvmctl's: extra ones are removed, except one accepting SSH from the
// operator's address, which is never removed.
import { contains, parseCidr } from '../../src/inventory/ipv4.ts';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { type Flow, wantedFlows } from '../../src/render/firewall-flows.ts';
import { sh } from '../../src/shell.ts';
import type { Change, Command, TaskResult } from '../engine/types.ts';
import { type FirewalldState, HVMCTL_ZONE } from '../facts/firewalld.ts';
import { TaskCheckError } from './task-error.ts';

export const HVMCTL_ZONE_TARGET = 'DROP';

export interface RichRule {
  /** As firewalld lists it (`--list-rich-rules`), so it compares byte for byte. */
  readonly rule: string;
  /** For people: "migration from kvmnode2" (the iptables rules' comment text). */
  readonly what: string;
}

const source = (cidr: string): string => `rule family="ipv4" source address="${cidr}"`;

/** A flow (src/render/firewall-flows.ts) as firewalld lists its rich rule. */
function richRule(flow: Flow): RichRule {
  if ('icmp' in flow) return { rule: `${source(flow.source)} icmp-type name="${flow.icmp}" accept`, what: flow.what };
  const [low, high] = flow.ports;
  const ports = low === high ? `${low}` : `${low}-${high}`;
  return { rule: `${source(flow.source)} port port="${ports}" protocol="${flow.proto}" accept`, what: flow.what };
}

/** The rich rules `host`'s zone should hold, in order. `operator` is an IPv4 address (see operatorIpv4). */
export function wantedRichRules(inv: Inventory, host: HostSpec, operator: string | undefined): RichRule[] {
  return wantedFlows(inv, host, operator).map(richRule);
}

const RICH_TCP_PORT = /^rule family="ipv4" source address="([\d.]+(?:\/\d+)?)" port port="(\d+)(?:-(\d+))?" protocol="tcp" accept$/;

/** Whether a rich rule accepts tcp `sshPort` from `address` (source covering it, port or range containing it). */
export function richAcceptsSsh(rule: string, address: string, sshPort: number): boolean {
  const m = RICH_TCP_PORT.exec(rule);
  if (!m) return false;
  const [, src = '', lo = '', hi] = m;
  const low = Number(lo);
  const high = hi === undefined ? low : Number(hi);
  if (sshPort < low || sshPort > high) return false;
  return contains(parseCidr(src.includes('/') ? src : `${src}/32`), address);
}

const fc = (args: string): Command => ({ script: `firewall-cmd ${args}` });

/** Pure: the change that makes firewalld's hvmctl zone hold exactly `wanted` and be the default zone. */
export function planFirewalld(host: HostSpec, wanted: readonly RichRule[], operator: string | undefined, fact: FirewalldState): TaskResult {
  if (fact.state === 'absent') {
    throw new TaskCheckError('E_FIREWALL_BACKEND', `${host.name}: firewall backend firewalld, but firewall-cmd is not installed`, 'install firewalld, or set `firewall.backend: auto` (or iptables)');
  }
  if (fact.state === 'stopped') {
    throw new TaskCheckError('E_FIREWALL_BACKEND', `${host.name}: firewall backend firewalld, but firewalld is not running`, 'start it (`systemctl enable --now firewalld`), or set `firewall.backend: auto` (or iptables)');
  }
  if (operator !== undefined && !wanted.some((r) => richAcceptsSsh(r.rule, operator, host.sshdPort))) {
    throw new TaskCheckError(
      'E_FIREWALL_LOCKOUT',
      `${host.name}: the wanted firewalld rules would not accept SSH from the operator's address ${operator}; not applied`,
      'this is a bug in tasks/ops/firewall-firewalld.ts: the operator rule is missing',
    );
  }
  const permanent: Command[] = [];
  const phrases: string[] = [];
  const zone = fact.zone;
  if (zone === undefined) {
    phrases.push(`create zone ${HVMCTL_ZONE}`);
    permanent.push(fc(sh`--permanent --new-zone=${HVMCTL_ZONE}`));
  }
  if (zone?.target !== HVMCTL_ZONE_TARGET) {
    if (zone !== undefined) phrases.push(`zone target ${zone.target} -> ${HVMCTL_ZONE_TARGET}`);
    permanent.push(fc(sh`--permanent --zone=${HVMCTL_ZONE} --set-target=${HVMCTL_ZONE_TARGET}`));
  }
  const live = new Set(zone?.richRules ?? []);
  const wantedSet = new Set(wanted.map((r) => r.rule));
  for (const r of wanted) {
    if (live.has(r.rule)) continue;
    phrases.push(`missing rule: ${r.what}`);
    permanent.push(fc(sh`--permanent --zone=${HVMCTL_ZONE} --add-rich-rule=${r.rule}`));
  }
  const kept: string[] = [];
  for (const r of zone?.richRules ?? []) {
    if (wantedSet.has(r)) continue;
    if (operator !== undefined && richAcceptsSsh(r, operator, host.sshdPort)) {
      kept.push(r);
      continue;
    }
    phrases.push(`extra rule: ${r}`);
    permanent.push(fc(sh`--permanent --zone=${HVMCTL_ZONE} --remove-rich-rule=${r}`));
  }
  const commands: Command[] = [...permanent];
  if (permanent.length > 0) commands.push(fc('--reload'));
  if (fact.defaultZone !== HVMCTL_ZONE) {
    phrases.push(`default zone ${fact.defaultZone} -> ${HVMCTL_ZONE}`);
    commands.push(fc(sh`--set-default-zone=${HVMCTL_ZONE}`));
  }
  const keptNote = kept.length === 0 ? '' : `; kept ${kept.length} extra rule(s) accepting SSH from the operator's address ${operator ?? ''}`;
  const sourcesNote = zone === undefined || zone.sources.length === 0 ? '' : `; zone sources left alone: ${zone.sources.join(' ')}`;
  if (commands.length === 0) {
    return {
      changes: [],
      reason: `firewalld zone ${HVMCTL_ZONE} matches: ${wanted.length} rich rules, target ${HVMCTL_ZONE_TARGET}, default zone${keptNote}${sourcesNote}`,
    };
  }
  const change: Change = {
    summary: `firewalld zone ${HVMCTL_ZONE}: ${phrases.join('; ')}${keptNote}`,
    commands,
    diff: phrases.map((p) => `${p}\n`).join(''),
  };
  return { changes: [change], reason: '' };
}
