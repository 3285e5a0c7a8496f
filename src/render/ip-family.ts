// The two address families the iptables backend filters. The rules, the
// rules files, the live tables and the boot-time loader exist once per
// family; everything that differs between IPv4 and IPv6 is named here, so the
// code around it is written once (a Record makes the compiler list a gap).
import type { OsFamily } from '../inventory/types.ts';

export type IpFamily = 'ipv4' | 'ipv6';

/** In apply order: IPv4 (the cluster's own network) first. */
export const ipFamilies: readonly IpFamily[] = ['ipv4', 'ipv6'];

export interface IpFamilyTools {
  /** For people: "IPv4", "IPv6". */
  readonly label: string;
  /** Prints the live table (`-t filter`). */
  readonly save: string;
  /** Loads a rules file (`--test` validates one, `--noflush` leaves other chains alone). */
  readonly restore: string;
  /** Shell condition: the kernel has this family (IPv6 can be off: `ipv6.disable=1`); undefined: always. */
  readonly inKernel?: string;
}

export const ipFamilyTools: Readonly<Record<IpFamily, IpFamilyTools>> = {
  ipv4: { label: 'IPv4', save: 'iptables-save', restore: 'iptables-restore' },
  ipv6: { label: 'IPv6', save: 'ip6tables-save', restore: 'ip6tables-restore', inKernel: '[ -d /proc/sys/net/ipv6 ]' },
};

/**
 * Where each OS family's boot-time loader reads the rules: Debian's
 * netfilter-persistent (iptables-persistent's plugins 15-ip4tables and
 * 25-ip6tables), RHEL's iptables-services (units iptables and ip6tables).
 */
export const firewallRulesPaths: Readonly<Record<OsFamily, Readonly<Record<IpFamily, string>>>> = {
  debian: { ipv4: '/etc/iptables/rules.v4', ipv6: '/etc/iptables/rules.v6' },
  redhat: { ipv4: '/etc/sysconfig/iptables', ipv6: '/etc/sysconfig/ip6tables' },
};
