// The packages task: installs the OS packages each role needs (first stage:
// later stages use them). Which packages those are is src/os/packages.ts,
// the one list (the lab's local apt repository reads it too).
// Facts: which of them are installed (tasks/facts/installed-packages.ts).
// Before installing anything the task checks the host's /etc/os-release
// against the inventory's os_family (tasks/facts/os-release.ts): apt on a RHEL
// host, or Debian's network files on Ubuntu, would be the wrong fix.
// Services are tasks/ops/services.ts.
import type { HostSpec, Inventory, OsFamily } from '../../src/inventory/types.ts';
import { osProfile, type PackageTool } from '../../src/os/profiles.ts';
import { wantedPackages } from '../../src/os/packages.ts';
import { sh } from '../../src/shell.ts';
import type { Task, TaskResult } from '../engine/types.ts';
import { installedFact } from '../facts/installed-packages.ts';
import { type OsRelease, osRelease } from '../facts/os-release.ts';
import { servicesTask } from './services.ts';
import { TaskCheckError } from './task-error.ts';

/** How long apt waits for the dpkg lock (apt-daily, unattended-upgrades, an operator's apt) before it fails. */
export const APT_LOCK_TIMEOUT_S = 300;

/**
 * apt never asks: noninteractive debconf, and on a changed conffile it keeps
 * the local one (--force-confdef --force-confold: apply writes some of them,
 * e.g. ganesha.conf). It waits for the dpkg lock; `apt-get update` does not
 * honour DPkg::Lock::Timeout for the lists lock, so that is retried (every
 * 10 s, as long as the lock is the reason, up to the same bound).
 */
function aptInstall(missing: readonly string[]): string {
  const opts = `-o DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_S} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold`;
  const tries = Math.ceil(APT_LOCK_TIMEOUT_S / 10);
  return [
    'export DEBIAN_FRONTEND=noninteractive',
    `hvmctl_install() { apt-get ${opts} install -y -q --no-install-recommends ${sh`${missing}`}; }`,
    'hvmctl_update() {',
    '  i=0',
    `  until out=$(apt-get -o DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_S} update -q 2>&1); do`,
    `    case $out in *'/var/lib/apt/lists/lock'*) ;; *) printf '%s\\n' "$out" >&2; return 1 ;; esac`,
    `    i=$((i+1)); if [ $i -ge ${tries} ]; then printf '%s\\n' "$out" >&2; return 1; fi`,
    '    sleep 10',
    '  done',
    '}',
    // a stale package index is the usual reason for "unable to locate": update once and retry
    'hvmctl_install || { hvmctl_update && hvmctl_install; }',
  ].join('\n');
}

const installers: Readonly<Record<PackageTool, (missing: readonly string[]) => string>> = {
  apt: aptInstall,
  dnf: (missing) => sh`dnf install -y ${missing}`,
};

/** The script that installs `missing` with the family's package tool, non-interactively. */
export function installCommand(osFamily: OsFamily, missing: readonly string[]): string {
  return installers[osProfile(osFamily).packageTool](missing);
}

/**
 * Pure: the host's /etc/os-release against the inventory. A known family that
 * differs stops the host (nothing installed); an unknown one, or no
 * os-release, goes by the inventory: the returned note says so ('' when they agree).
 */
export function checkOsFamily(inv: Inventory, host: HostSpec, release: OsRelease): string {
  const found = release.family;
  if (found === host.osFamily) return '';
  if (found === undefined) {
    const what = release.id === undefined ? 'no /etc/os-release' : `/etc/os-release: ID=${release.id}${release.idLike.length > 0 ? ` ID_LIKE="${release.idLike.join(' ')}"` : ''}, a family hvmctl does not know`;
    return `${what}; going by the inventory's os_family: ${host.osFamily}`;
  }
  const section = host.role === 'storage' ? 'storage.hosts' : 'hypervisors.hosts';
  throw new TaskCheckError(
    'E_OS_FAMILY',
    `${host.name}: the inventory says os_family: ${host.osFamily}, but the host's /etc/os-release says ID=${release.id ?? '?'} (${osProfile(found).label})`,
    `set os_family: ${found} under ${section}.${host.name} (or cluster.os_family for every host) in ${inv.file}`,
  );
}

export const packagesTask: Task<{ os: OsRelease; installed: ReadonlySet<string> }> = {
  name: 'packages',
  tags: ['packages'],
  stage: 'packages',
  applies: () => true,
  facts: (ctx) => ({ os: osRelease, installed: installedFact(ctx.host.osFamily, wantedPackages(ctx.inventory, ctx.host)) }),
  plan: (ctx, facts): TaskResult => {
    const note = checkOsFamily(ctx.inventory, ctx.host, facts.os);
    const wanted = wantedPackages(ctx.inventory, ctx.host);
    const missing = wanted.filter((p) => !facts.installed.has(p));
    if (missing.length === 0) return { changes: [], reason: `${wanted.length} packages installed${note === '' ? '' : ` (${note})`}` };
    return {
      changes: [{ summary: `install ${missing.join(' ')}`, commands: [{ script: installCommand(ctx.host.osFamily, missing) }] }],
      reason: note,
    };
  },
};

export const packageTasks: readonly Task[] = [packagesTask as Task, servicesTask as Task];
