// The handlers: what runs once per host at the end of a stage when a change
// notified it (runner.ts). Each is plain commands; they decide at run time
// what the host has (systemd or not), since handlers get no facts.
import { raw, sh } from '../src/shell.ts';
import type { Command, Handler, HandlerName } from './engine/types.ts';
import { VIRSH } from '../src/libvirt-uri.ts';
import { networkRestartHandler } from './ops/network.ts';
import { systemdIsPid1 as SYSTEMD } from './facts/process.ts';
import { BRIDGE_GUARD } from '../src/render/managed-files.ts';

export const ganeshaPaths = {
  config: '/etc/ganesha/ganesha.conf',
  log: '/var/log/ganesha/ganesha.log',
  pid: '/run/ganesha/ganesha.pid',
} as const;

/**
 * Starts rpcbind and ganesha without systemd, detached from the SSH session
 * (no inherited stdout/stderr), and fails with the end of ganesha's log when
 * it does not stay up.
 */
export function ganeshaStartScript(): string {
  return [
    'set -e',
    `mkdir -p /var/log/ganesha /run/ganesha`,
    `if ! pgrep -x rpcbind >/dev/null; then rpcbind -w </dev/null >/dev/null 2>&1; fi`,
    sh`ganesha.nfsd -f ${ganeshaPaths.config} -L ${ganeshaPaths.log} -p ${ganeshaPaths.pid} </dev/null >/dev/null 2>&1`,
    // ganesha forks and reads its configuration in the child: give it a moment, then check.
    'i=0; while [ $i -lt 10 ]; do pgrep -x ganesha.nfsd >/dev/null && break; sleep 0.5; i=$((i+1)); done',
    'sleep 1',
    sh`if ! pgrep -x ganesha.nfsd >/dev/null; then echo 'ganesha.nfsd did not stay up; end of its log:' >&2; tail -n 15 ${ganeshaPaths.log} >&2 || true; exit 1; fi`,
  ].join('\n');
}

/** Stops ganesha via its pid file (or by exact name when the pid file is gone) and waits until it is gone. */
export function ganeshaStopScript(): string {
  return [
    sh`if [ -s ${ganeshaPaths.pid} ] && kill -0 "$(cat ${ganeshaPaths.pid})" 2>/dev/null; then kill "$(cat ${ganeshaPaths.pid})"; `,
    `elif pgrep -x ganesha.nfsd >/dev/null; then kill $(pgrep -x ganesha.nfsd); fi`,
    'i=0; while pgrep -x ganesha.nfsd >/dev/null && [ $i -lt 40 ]; do sleep 0.25; i=$((i+1)); done',
    `if pgrep -x ganesha.nfsd >/dev/null; then echo 'ganesha.nfsd did not stop within 10 s' >&2; exit 1; fi`,
    sh`rm -f ${ganeshaPaths.pid}`,
  ].join('\n');
}

const one = (script: string): Command[] => [{ script }];

export const exportfsHandler: Handler = {
  name: 'exportfs',
  commands: () => one('exportfs -ra'),
};

/** Seconds the ganesha-restart handler waits for the server to answer. */
export const GANESHA_READY_SECONDS = 30;

/**
 * Waits (bounded) until ganesha has registered NFS (100003) and mountd
 * (100005) with rpcbind: its unit is "started" a moment before that, and a
 * hypervisor asking in between gets "program not available".
 */
export function ganeshaReadyScript(seconds = GANESHA_READY_SECONDS): string {
  return [
    `i=0; until rpcinfo -p 127.0.0.1 2>/dev/null | awk '$1==100003{n=1} $1==100005{m=1} END{exit !(n&&m)}'; do`,
    `  i=$((i+1)); if [ $i -ge ${seconds * 4} ]; then echo 'ganesha did not register nfs and mountd with rpcbind within ${seconds} s (rpcinfo -p 127.0.0.1)' >&2; exit 1; fi; sleep 0.25`,
    'done',
  ].join('\n');
}

export const ganeshaRestartHandler: Handler = {
  name: 'ganesha-restart',
  commands: () =>
    one(`if ${SYSTEMD}; then systemctl restart nfs-ganesha || exit 1; else\n${ganeshaStopScript()}\n${ganeshaStartScript()}\nfi\n${ganeshaReadyScript()}`),
};

export function poolRefreshScript(pool: string): string {
  // Only a running pool can be refreshed; an inactive one rescans when it starts.
  return sh`if ${raw(VIRSH)} pool-info ${pool} 2>/dev/null | grep -q '^State: *running'; then ${raw(VIRSH)} pool-refresh ${pool}; fi`;
}

export const poolRefreshHandler: Handler = {
  name: 'pool-refresh',
  commands: (ctx) => one(poolRefreshScript(ctx.inventory.pool.name)),
};

/**
 * Debian's cron (and cronie) re-read /etc/cron.d when the directory's mtime
 * changes (checked every minute; cronie also uses inotify). The file task
 * renames a new file into place, which already bumps it; touching the
 * directory makes that explicit and also covers a chmod-only change. No
 * restart is needed, and none is done (it would skip the current minute).
 */
export const cronReloadHandler: Handler = {
  name: 'cron-reload',
  commands: () => one('if [ -d /etc/cron.d ]; then touch /etc/cron.d; fi'),
};

/** sshd re-reads its configuration and host keys on SIGHUP; test the configuration first. */
export const sshdReloadHandler: Handler = {
  name: 'sshd-reload',
  commands: () =>
    one(
      [
        'sshd -t',
        `if ${SYSTEMD}; then systemctl reload ssh 2>/dev/null || systemctl reload sshd; `,
        `elif [ -s /run/sshd.pid ]; then kill -HUP "$(cat /run/sshd.pid)"; `,
        `else echo 'sshd-reload: no systemd and no /run/sshd.pid: reload sshd by hand' >&2; exit 1; fi`,
      ].join('\n'),
    ),
};

// network-restart lives with the network files (tasks/ops/network.ts): it needs
// the safety net (arm a rollback, reconnect, disarm), not only commands.
/** Seconds the libvirtd-restart handler waits for libvirtd to answer again. */
export const LIBVIRTD_READY_SECONDS = 60;

/**
 * libvirtd reads qemu.conf and qemu-lockd.conf (the lock manager, the
 * lockspace) only when it starts. Running guests keep running: their QEMUs
 * are not libvirtd's children, and libvirtd reconnects to them.
 */
export const libvirtdRestartHandler: Handler = {
  name: 'libvirtd-restart',
  commands: () =>
    one(
      [
        `if ${SYSTEMD}; then systemctl restart libvirtd || exit 1; else`,
        '  if pgrep -x libvirtd >/dev/null; then kill $(pgrep -x libvirtd); fi',
        '  i=0; while pgrep -x libvirtd >/dev/null && [ $i -lt 40 ]; do sleep 0.25; i=$((i+1)); done',
        '  libvirtd -d || exit 1',
        'fi',
        `i=0; until ${VIRSH} version >/dev/null 2>&1; do i=$((i+1)); if [ $i -ge ${LIBVIRTD_READY_SECONDS * 4} ]; then echo 'libvirtd did not answer within ${LIBVIRTD_READY_SECONDS} s of its restart (${VIRSH} version)' >&2; exit 1; fi; sleep 0.25; done`,
      ].join('\n'),
    ),
};

/**
 * The bridge guard's rules are loaded now (the file replaces the table in one transaction) and its
 * unit enabled, so they are loaded again at boot before the network and the guests. Under systemd
 * through the unit (`restart` runs its `nft -f`), which leaves it active, as `plan` expects; the
 * daemon-reload also takes in nftables.service's drop-in, which loads the table after each of that
 * service's starts and reloads (they flush the whole ruleset).
 */
export const bridgeGuardLoadHandler: Handler = {
  name: 'bridge-guard-load',
  commands: () =>
    one(
      [
        `if ${SYSTEMD}; then`,
        `  systemctl daemon-reload && ${sh`systemctl enable --quiet ${BRIDGE_GUARD.unit}`} || exit 1`,
        // systemctl's own failure says only "see journalctl": the file's error first, from nft
        `  ${sh`systemctl restart ${BRIDGE_GUARD.unit}`} || { ${sh`nft -c -f ${BRIDGE_GUARD.file}`}; exit 1; }`,
        `else`,
        `  ${sh`nft -f ${BRIDGE_GUARD.file}`}`,
        `fi`,
      ].join('\n'),
    ),
};

export const handlers: readonly Handler[] = [
  networkRestartHandler,
  exportfsHandler,
  ganeshaRestartHandler,
  poolRefreshHandler,
  cronReloadHandler,
  sshdReloadHandler,
  libvirtdRestartHandler,
  bridgeGuardLoadHandler,
];

export function handlerByName(name: HandlerName): Handler | undefined {
  return handlers.find((h) => h.name === name);
}
