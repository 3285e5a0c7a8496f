// Which OS family an /etc/os-release names: its ID first, then each ID_LIKE
// in order (Linux Mint: ID=linuxmint ID_LIKE="ubuntu debian" is Ubuntu;
// Rocky: ID=rocky ID_LIKE="rhel centos fedora" is the RHEL family). Pure.
import type { OsFamily } from '../inventory/types.ts';

/** os-release IDs hvmctl knows, and the family each belongs to. */
const knownIds: Readonly<Record<string, OsFamily>> = {
  debian: 'debian',
  ubuntu: 'ubuntu',
  rhel: 'redhat',
  fedora: 'redhat',
  centos: 'redhat',
  rocky: 'redhat',
  almalinux: 'redhat',
};

/** The family of the first of `id`, `idLike` hvmctl knows; undefined when none. */
export function familyOfOsRelease(id: string | undefined, idLike: readonly string[]): OsFamily | undefined {
  for (const name of [...(id === undefined ? [] : [id]), ...idLike]) {
    const family = Object.hasOwn(knownIds, name) ? knownIds[name] : undefined;
    if (family !== undefined) return family;
  }
  return undefined;
}
