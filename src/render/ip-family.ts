// The two address families the iptables backend filters. The rules, the
// rules files, the live tables and the boot-time loader exist once per
// family; everything that differs between IPv4 and IPv6 is named here, so the
// code around it is written once (a Record makes the compiler list a gap).
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
