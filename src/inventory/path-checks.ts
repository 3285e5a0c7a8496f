// Paths apply acts on as root on the hosts: it creates, chowns and chmods the
// export (0755 root:root), mounts the export on nfs.mount, builds the pool's
// directory. The schema only says which characters they may hold; this says
// what they may be: written plainly (no `.` or `..` segment, no `//`, no
// trailing `/`, so a path is what it looks like and "inside the mount" means
// inside it), and never a system directory or a volatile or virtual tree
// (exporting `/` or `/tmp` would chmod them). Pure.

/** Directories of the system itself: apply must never chown, chmod, export or mount over them. */
export const systemDirectories: ReadonlySet<string> = new Set([
  '/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/libx32', '/media', '/mnt', '/opt',
  '/proc', '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/var',
  '/usr/bin', '/usr/include', '/usr/lib', '/usr/lib64', '/usr/libexec', '/usr/local', '/usr/sbin', '/usr/share', '/usr/src',
  '/var/backups', '/var/cache', '/var/lib', '/var/local', '/var/lock', '/var/log', '/var/mail', '/var/opt', '/var/run',
  '/var/spool', '/var/tmp', '/var/lib/libvirt',
]);

/** Trees of the system whose every directory is the system's (a package database, the boot
 * loader, root's keys, the configuration): nothing of apply's goes anywhere under them. */
const systemTrees: readonly string[] = [
  '/etc', '/boot', '/root', '/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32',
  '/var/lib/dpkg', '/var/lib/rpm', '/var/lib/apt', '/var/lib/dnf', '/var/lib/systemd', '/var/log', '/var/cache', '/var/spool', '/var/mail',
];

/** Trees whose content does not survive a reboot or is not a disk at all. */
const volatileTrees: Readonly<Record<string, string>> = {
  '/tmp': 'is emptied at boot',
  '/var/tmp': 'is cleaned by the system',
  '/run': 'is a tmpfs, gone at reboot',
  '/proc': 'is the kernel\'s virtual file system',
  '/sys': 'is the kernel\'s virtual file system',
  '/dev': 'holds devices, not files',
};

/** Why `path` (already known to be absolute, of the allowed characters) is not a plain path; undefined when it is. */
export function plainPathProblem(path: string): string | undefined {
  if (path.length > 1 && path.endsWith('/')) return `"${path}" ends with "/"; write it without`;
  const segments = path.split('/').slice(1);
  if (path !== '/' && segments.some((s) => s === '')) return `"${path}" has an empty segment ("//")`;
  const dots = segments.find((s) => s === '.' || s === '..');
  if (dots !== undefined) return `"${path}" has a "${dots}" segment; write the path it stands for, without . or ..`;
  return undefined;
}

/** Why apply must not act on `path` as root; undefined when it may. `what` says what apply does there. */
export function systemPathProblem(path: string, what: string): string | undefined {
  if (systemDirectories.has(path)) return `"${path}" is a system directory; apply would ${what} it. Use a directory of its own, like /srv/kvmshared`;
  const tree = systemTrees.find((t) => path.startsWith(`${t}/`));
  if (tree !== undefined) return `"${path}" is under ${tree}, which belongs to the system; apply would ${what} it. Use a directory of its own, like /srv/kvmshared`;
  for (const [tree, why] of Object.entries(volatileTrees)) {
    if (path.startsWith(`${tree}/`)) return `"${path}" is under ${tree}, which ${why}; VM images need a directory that stays`;
  }
  return undefined;
}
