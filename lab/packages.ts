// The packages of the lab's local apt repository: everything apply may
// install on a Debian host, whatever the inventory chooses (NFS server and
// client, roles, Prometheus' exporters), so that apply's package stage
// installs for real from it; and the lab's own extras: a Prometheus server,
// which test/lab/prometheus.test.ts runs on the storage node (apply never
// installs one: a cluster's monitoring is its operator's).
// src/os/packages.ts owns apply's list; the lab only asks for it.
import { allDebianPackages } from '../src/os/packages.ts';

export const LAB_EXTRA_PACKAGES = ['prometheus', 'curl'] as const;

export function labRepoPackages(): string[] {
  return [...new Set([...allDebianPackages(), ...LAB_EXTRA_PACKAGES])].sort();
}
