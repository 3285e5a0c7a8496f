// The packages of the lab's local apt repository: everything apply may
// install on a Debian host, whatever the inventory chooses (NFS server and
// client, roles), so that apply's package stage installs for real from it.
// tasks/ops/packages.ts owns that list; the lab only asks for it.
import { allDebianPackages } from '../tasks/ops/packages.ts';

export function labRepoPackages(): string[] {
  return allDebianPackages();
}
