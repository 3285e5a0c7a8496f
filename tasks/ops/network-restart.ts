// The shell side of the network restart and its rollback, pure: per network
// backend (the host's one choice, which also chose the files render writes)
// and the tools the host has, how to take the network down with the configuration it was
// brought up with, bring it up with the new one, and undo that. The handler
// that runs them and decides from a new connection is in network.ts.
//
// Why each step, from trials on Debian 12 (ifupdown 0.8.41, bridge-utils 1.7.1;
// test/fixtures/captured/ifupdown-*.txt):
//   - `ifdown` reads the CURRENT files. After the write it would take eth0
//     down as the new `inet manual` stanza says; the address it had comes from
//     the previous file, which the write's undo record names: so the restart
//     first takes the network down with that file (`ifdown -i OLD`).
//   - A restart can cut the very session that started it (the address moves,
//     or the new one is wrong). It runs detached (setsid, output to a file);
//     the operator side then asks over a NEW connection how it ended.
//   - The rollback must undo a bridge the previous files do not know: it takes
//     the network down with the NEW files (still current), then restores the
//     previous ones, deletes a bridge left behind (a start that failed half-way
//     leaves br0 with the new address and no ifupdown state), and starts.
//   - Rollback and confirmation race at the deadline: each claims the armed
//     rollback by renaming its pid file (atomic); the loser knows it lost.
// The backends added for issue 13 (networkmanager, netplan, networkd) reuse
// that structure: arm the detached rollback, restart detached, confirm over a
// new connection. Where the host still had ifupdown's configuration (Debian's
// installer), their restart first takes it down with the previous file, as
// ifupdown's does, and their rollback brings it up again. NetworkManager adds
// its own checkpoint (D-Bus CheckpointCreate, through busctl: nmcli has no
// checkpoint command): NetworkManager itself puts the devices back after
// ROLLBACK_SECONDS unless the confirmation destroys the checkpoint, so the
// bound holds even if the detached rollback is gone; the rollback rolls the
// checkpoint back first. `netplan try` is not used: it refuses bridges with
// parameters (stp, forward-delay). These three are tested as commands here;
// only the lab proves them on a host.
import { posix } from 'node:path';
import type { NetworkBackend } from '../../src/inventory/types.ts';
import { debianInterfacesPath } from '../../src/render/managed-files.ts';
import { networkdDir, nmUnmanagedPath } from '../../src/render/network-files.ts';
import { quote, raw, sh } from '../../src/shell.ts';

/** The bound apply prints: the host has restored its previous files and restarted its network this long after the restart. */
export const ROLLBACK_SECONDS = 60;
/** When the rollback starts, after it is armed; the rest of ROLLBACK_SECONDS is for its own restart. */
export const ROLLBACK_DELAY_SECONDS = 40;
/** How long the restart command waits for the detached restart (a session that survives reports its outcome). */
export const RESTART_WAIT_SECONDS = 15;
/** How long a confirmation waits for a restart still running before it answers "running". */
export const CONFIRM_WAIT_SECONDS = 8;

const RUN_DIR = '/run/hvmctl';
/** Undo records of the network files (file.ts WriteOptions.undoDir); on tmpfs: a reboot runs the files as written. */
export const UNDO_DIR = `${RUN_DIR}/network-undo`;
export const ROLLBACK_PID = `${RUN_DIR}/network-rollback.pid`;
/** Left by a rollback that started: a late confirmation must not report success. */
export const ROLLBACK_FIRED = `${RUN_DIR}/network-rollback.fired`;
export const ROLLBACK_LOG = '/var/log/hvmctl/network-rollback.log';
export const RESTART_LOG = `${RUN_DIR}/network-restart.log`;
export const RESTART_RC = `${RUN_DIR}/network-restart.rc`;

export interface NetworkTools {
  readonly ifup?: string;
  readonly ifreload?: string;
  readonly nmcli?: string;
  readonly busctl?: string;
  readonly netplan?: string;
  readonly networkctl?: string;
  readonly systemd: boolean;
  /** A `network` service exists (RHEL network-scripts: /etc/init.d/network or network.service). */
  readonly networkService: boolean;
}

export interface NetworkNames {
  readonly bridge: string;
  /** The physical interface enslaved to the bridge. */
  readonly iface: string;
}

/** Shell for one way of restarting: the forward restart, and the rollback's stop (current files) and start (restored files). */
export interface NetworkMethod {
  readonly tool: string;
  readonly restart: string;
  readonly stop: string;
  readonly start: string;
  /** Run by the confirmation that claimed the rollback (e.g. NetworkManager's checkpoint destroyed). */
  readonly confirm?: string;
}

/** Where the NetworkManager restart keeps its checkpoint's D-Bus path. */
export const NM_CHECKPOINT = `${RUN_DIR}/nm-checkpoint`;

const nmBus = 'org.freedesktop.NetworkManager /org/freedesktop/NetworkManager org.freedesktop.NetworkManager';
/** NM_CHECKPOINT_CREATE_FLAG_DESTROY_ALL | DELETE_NEW_CONNECTIONS | DISCONNECT_NEW_DEVICES (NetworkManager's D-Bus API). */
const NM_CHECKPOINT_FLAGS = 7;

/** Calls a NetworkManager checkpoint method on the saved checkpoint, if there is one, and forgets it. */
function nmCheckpointCall(method: 'CheckpointRollback' | 'CheckpointDestroy'): string {
  return sh`if [ -s ${NM_CHECKPOINT} ]; then busctl call ${raw(nmBus)} ${method} o "$(cat ${NM_CHECKPOINT})" >/dev/null; rm -f -- ${NM_CHECKPOINT}; fi`;
}

/** Sets `old` to the backup of /etc/network/interfaces its undo record names (empty: it did not exist, or did not change). */
const PREVIOUS_INTERFACES = sh`old=$(head -n 1 -- ${UNDO_DIR + debianInterfacesPath} 2>/dev/null || true)`;

/** Where the host still has ifupdown: its previous configuration taken down (the undo record names the file), the port bare. */
function leaveIfupdown(n: NetworkNames, t: NetworkTools): string[] {
  if (!t.ifup) return [];
  return [
    PREVIOUS_INTERFACES,
    'if [ -n "$old" ] && [ -f "$old" ]; then ifdown -a --force --exclude=lo -i "$old"; fi',
    sh`ip addr flush dev ${n.iface} scope global`,
  ];
}

/** Shell test: `$m` names a bridge that is not the inventory's. */
const otherBridge = (n: NetworkNames): string => sh`[ -n "$m" ] && [ "$m" != ${n.bridge} ] && [ -n "$(ip -o link show dev "$m" type bridge 2>/dev/null)" ]`;

/**
 * The port taken out of a bridge that is not the inventory's: that bridge
 * (the old name, after the inventory renamed it; apply removed its files with
 * the leftovers, tasks/ops/network.ts) is deleted, or it would keep the
 * host's address beside the new bridge's until the next boot. Only a bridge:
 * a bond or anything else the port belongs to is the backend's to change.
 * NetworkManager too, after `nmcli connection reload` (`first`): restarted without it,
 * NetworkManager kept the old bridge as an external device, address and all,
 * and the host answered on neither bridge (the lab's rename test). Early lab
 * runs also saw it recreate the bridge once more, down, with no address and
 * no port (it keeps the profile of an active connection whose file is gone
 * until the port leaves); later ones did not, and `dropReleasedBridgeScript`
 * deletes such a bridge once the new one is up. The
 * rollback's start brings the old bridge back from the restored files.
 * Leaves the released bridge's name in `$m` for that script.
 */
export function releasePortScript(n: NetworkNames, first?: string): string {
  return [
    sh`m=$(ip -o link show dev ${n.iface} 2>/dev/null | sed -n 's/.* master \\([^ ]*\\) .*/\\1/p')`,
    `if ${otherBridge(n)}; then`,
    ...(first === undefined ? [] : [`  ${first}`]),
    sh`  printf 'hvmctl: %s was a port of %s, not of %s: %s deleted\\n' ${n.iface} "$m" ${n.bridge} "$m"; ip link set dev "$m" down; ip link del dev "$m"`,
    'fi',
  ].join('\n');
}

/**
 * After NetworkManager brought the new bridge up: the bridge `releasePortScript`
 * released (`$m`), when NetworkManager recreated it, is deleted again. Only when
 * it is still a bridge with no port: its profile is gone by then (its file was
 * a leftover, and the port left it), so nothing brings it back. Always exits 0.
 */
export function dropReleasedBridgeScript(n: NetworkNames): string {
  return [
    `if ${otherBridge(n)} && [ -z "$(ip -o link show master "$m" 2>/dev/null)" ]; then`,
    `  ip link del dev "$m" 2>/dev/null && printf 'hvmctl: %s, recreated empty by NetworkManager, deleted again\\n' "$m"`,
    'fi',
    'true',
  ].join('\n');
}

/**
 * netplan and networkd keep an installed NetworkManager off the bridge and its
 * port with a drop-in (src/render/network-files.ts); NetworkManager reads it
 * when it starts. Restarted where the drop-in changed, before the backend
 * takes the port; in the rollback, where it is active at all (the drop-in may
 * be gone again).
 */
function nmReadsDropIn(when: 'changed' | 'always'): string {
  return restartNmIfActive(when === 'changed' ? sh`[ -e ${UNDO_DIR + nmUnmanagedPath} ]` : undefined);
}

/** NetworkManager restarted where it runs (and where `condition`, a shell test, holds). */
function restartNmIfActive(condition?: string): string {
  return `if ${condition ? `${condition} && ` : ''}systemctl -q is-active NetworkManager.service 2>/dev/null; then systemctl restart NetworkManager.service; fi`;
}

/** The rollback's start where the host has ifupdown: the restored /etc/network/interfaces up again. */
function ifupdownStart(t: NetworkTools): string[] {
  return t.ifup ? ['ifup -a --exclude=lo; ifup -a --allow=hotplug --exclude=lo'] : [];
}

/**
 * Deletes the bridge when it is still there (a half-failed start leaves it
 * with its address and no ifupdown state). Asks the kernel through `ip`, not
 * /sys/class/net: in a container that joined its network namespace late
 * (systemd-nspawn --network-namespace-path) sysfs shows the host's devices.
 */
export function deleteBridgeScript(bridge: string): string {
  return sh`if [ -n "$(ip -o link show dev ${bridge} type bridge 2>/dev/null)" ]; then ip link set dev ${bridge} down; ip link del dev ${bridge}; fi`;
}

/**
 * Where this apply removed another backend's files (their undo records are
 * there), that backend still holds the bridge in memory and would fight
 * ifupdown for it: netplan regenerates (its networkd files in /run go),
 * networkd reloads, NetworkManager restarts (its ifupdown plugin then leaves
 * the devices /etc/network/interfaces names alone; a reload does not).
 */
export function forgetOtherBackendsScript(): string {
  const removed = (dir: string): string => sh`[ -d ${UNDO_DIR + dir} ]`;
  return [
    `if ${removed('/etc/netplan')} && command -v netplan >/dev/null; then netplan generate; fi`,
    `if { ${removed(networkdDir)} || ${removed('/etc/netplan')}; } && systemctl -q is-active systemd-networkd.service 2>/dev/null; then networkctl reload; fi`,
    restartNmIfActive(removed('/etc/NetworkManager')),
  ].join('\n');
}

function ifupdown(n: NetworkNames): NetworkMethod {
  // `--allow=hotplug` as networking.service does: an installer's `allow-hotplug eth0` is not `auto`.
  const start = 'ifup -a --exclude=lo; ifup -a --allow=hotplug --exclude=lo';
  return {
    tool: 'ifupdown',
    restart: [
      forgetOtherBackendsScript(),
      PREVIOUS_INTERFACES,
      'if [ -n "$old" ] && [ -f "$old" ]; then ifdown -a --force --exclude=lo -i "$old"; fi',
      'ifdown -a --force --exclude=lo',
      // what no ifupdown state covers: an address the port kept from a start that failed half-way
      sh`ip addr flush dev ${n.iface} scope global`,
      deleteBridgeScript(n.bridge),
      releasePortScript(n),
      'ifup -a --exclude=lo && ifup -a --allow=hotplug --exclude=lo',
    ].join('\n'),
    stop: ['ifdown -a --force --exclude=lo', sh`ip addr flush dev ${n.iface} scope global`].join('\n'),
    start,
  };
}

type MethodChooser = (n: NetworkNames, t: NetworkTools) => NetworkMethod | undefined;

/** Per network backend, the first tool the host has, in order of preference. */
const methods: Readonly<Record<NetworkBackend, MethodChooser>> = {
  ifupdown: (n, t) => {
    // ifupdown2 reloads by difference and takes down what the files no longer name
    if (t.ifreload) return { tool: 'ifupdown2', restart: 'ifreload -a', stop: 'true', start: 'ifreload -a' };
    if (t.ifup) return ifupdown(n);
    return undefined;
  },
  // network-scripts' files: the `network` service where it exists (EL8, Fedora's network-scripts package)
  ifcfg: (n, t) => {
    if (t.networkService) {
      const svc = (verb: string): string => (t.systemd ? `systemctl ${verb} network` : `/etc/init.d/network ${verb}`);
      return { tool: 'network-scripts', restart: [releasePortScript(n), svc('restart')].join('\n'), stop: svc('stop'), start: svc('start') };
    }
    if (t.nmcli) {
      return {
        tool: 'NetworkManager',
        restart: ['nmcli connection reload || exit $?', releasePortScript(n), sh`nmcli connection up ${n.bridge}`].join('\n'),
        stop: sh`nmcli connection down ${n.bridge}`,
        start: sh`nmcli connection reload; nmcli device connect ${n.iface}`,
      };
    }
    if (t.ifup) {
      return {
        tool: 'ifup',
        restart: [releasePortScript(n), sh`ifdown ${n.bridge} 2>/dev/null; ifup ${n.iface}; ifup ${n.bridge}`].join('\n'),
        stop: sh`ifdown ${n.bridge}; ifdown ${n.iface}`,
        start: sh`ifup ${n.iface}; if [ -e ${`/etc/sysconfig/network-scripts/ifcfg-${n.bridge}`} ]; then ifup ${n.bridge}; fi`,
      };
    }
    return undefined;
  },
  networkmanager: (n, t) => {
    if (!t.nmcli || !t.busctl || !t.systemd) return undefined;
    const restartNm = 'systemctl restart NetworkManager.service';
    return {
      tool: 'NetworkManager',
      restart: [
        // Leaving ifupdown: NetworkManager's ifupdown plugin reads which
        // devices to leave alone (those /etc/network/interfaces names) only
        // when NetworkManager starts; after a reload the port stays unmanaged
        // (seen on Debian 12's NM 1.42 in the lab). So NetworkManager is
        // restarted, which would also end a checkpoint: this one change relies
        // on the detached rollback alone.
        ...(t.ifup
          ? [
              PREVIOUS_INTERFACES,
              'if [ -n "$old" ] && [ -f "$old" ]; then',
              '  ifdown -a --force --exclude=lo -i "$old"',
              sh`  ip addr flush dev ${n.iface} scope global`,
              // Only when the port is in another bridge (a rename), its deleted profiles forgotten
              // first: with the old bridge's still loaded, NetworkManager recreates that bridge. Not
              // always: a reload drops a port whose profile changed (a port renamed in the
              // inventory), and the restart alone keeps it, so the host stays reachable to go back.
              releasePortScript(n, 'nmcli connection reload').replace(/^/gm, '  '),
              `  ${restartNm}`,
              sh`  nmcli connection up id ${n.bridge} || exit $?`,
              dropReleasedBridgeScript(n).replace(/^/gm, '  '),
              '  exit 0',
              'fi',
            ]
          : []),
        sh`cp=$(busctl call ${raw(nmBus)} CheckpointCreate aouu 0 ${ROLLBACK_SECONDS} ${NM_CHECKPOINT_FLAGS}) || { echo 'hvmctl: no NetworkManager checkpoint; network not restarted' >&2; exit 1; }`,
        // busctl prints `o "/org/freedesktop/NetworkManager/Checkpoint/1"`
        `cp=$(printf '%s' "$cp" | sed -e 's/^o //' -e 's/"//g')`,
        sh`printf '%s\n' "$cp" > ${NM_CHECKPOINT}`,
        'nmcli connection reload || exit $?',
        releasePortScript(n),
        sh`nmcli connection up id ${n.bridge} || exit $?`,
        dropReleasedBridgeScript(n),
      ].join('\n'),
      stop: nmCheckpointCall('CheckpointRollback'),
      // restarted, not reloaded, where ifupdown is: the restored files may hand the port back to it (see above)
      start: [t.ifup ? restartNm : 'nmcli connection reload', ...ifupdownStart(t)].join('\n'),
      confirm: nmCheckpointCall('CheckpointDestroy'),
    };
  },
  // Not `netplan apply`: it runs `udevadm trigger`, which fails where /sys is
  // read-only (containers; the lab's hosts), and does for networkd no more
  // than this, apart from renames and .link files, which hvmctl's YAML does
  // not use. (Nor `netplan try`: it refuses bridges with parameters.)
  netplan: (n, t) => {
    if (!t.netplan || !t.systemd) return undefined;
    return {
      tool: 'netplan',
      restart: [nmReadsDropIn('changed'), ...leaveIfupdown(n, t), releasePortScript(n), 'netplan generate && systemctl restart systemd-networkd.service'].join('\n'),
      stop: 'true',
      start: [nmReadsDropIn('always'), 'netplan generate; systemctl restart systemd-networkd.service', ...ifupdownStart(t)].join('\n'),
    };
  },
  networkd: (n, t) => {
    if (!t.networkctl || !t.systemd) return undefined;
    return {
      tool: 'systemd-networkd',
      restart: [
        nmReadsDropIn('changed'),
        ...leaveIfupdown(n, t),
        releasePortScript(n),
        'systemctl enable systemd-networkd.service && systemctl restart systemd-networkd.service',
      ].join('\n'),
      stop: 'true',
      start: [nmReadsDropIn('always'), 'systemctl restart systemd-networkd.service', ...ifupdownStart(t)].join('\n'),
    };
  },
};

/** Per backend, what the host lacks when it has no method (the handler's "skipped" reason). */
export const methodNeeds: Readonly<Record<NetworkBackend, string>> = {
  ifupdown: 'ifupdown/NetworkManager',
  ifcfg: 'ifupdown/NetworkManager',
  networkmanager: 'nmcli and busctl with systemd (NetworkManager)',
  netplan: 'netplan with systemd (systemd-networkd)',
  networkd: 'networkctl with systemd (systemd-networkd)',
};

/** Pure: how a host with `backend` restarts its network, or undefined when it has no way to. */
export function networkMethod(backend: NetworkBackend, names: NetworkNames, tools: NetworkTools): NetworkMethod | undefined {
  return methods[backend](names, tools);
}

/** How long a restart waits for the port to join the bridge (NetworkManager and networkd attach it after they return). */
export const PORT_WAIT_SECONDS = 10;

/**
 * The restart, then a check that it did what the files say: the port is a
 * port of the bridge. A restart can succeed and still leave the old state
 * running (NetworkManager keeps a port it no longer has a profile for; the
 * next boot would not), so without this check apply would report a change
 * that only the next boot shows to be wrong. A failed check fails the
 * restart, which leaves the rollback armed (confirmScript).
 */
export function withPortCheck(restart: string, n: NetworkNames): string {
  const isPort = sh`[ -n "$(ip -o link show dev ${n.iface} master ${n.bridge} 2>/dev/null)" ]`;
  return [
    `( ${restart}
) || exit $?`,
    waitFor(isPort, PORT_WAIT_SECONDS),
    `if ! ${isPort}; then echo ${quote(`hvmctl: ${n.iface} is not a port of ${n.bridge} after the restart (${PORT_WAIT_SECONDS} s)`)} >&2; exit 3; fi`,
  ].join('\n');
}

/** Runs the restart detached from the SSH session, waits a bounded time and prints `restart-rc=N` or `restart-running`. */
export function detachedRestartScript(restart: string): string {
  // a subshell: an `exit` in the restart must still leave its status in the rc file
  const job = [`( ${restart}\n) > ${quote(RESTART_LOG)} 2>&1`, sh`echo $? > ${RESTART_RC}.tmp`, sh`mv -f -- ${RESTART_RC}.tmp ${RESTART_RC}`].join('; ');
  return [
    sh`mkdir -p -- ${RUN_DIR} && rm -f -- ${RESTART_RC} ${RESTART_LOG}`,
    sh`setsid sh -c ${job} </dev/null >/dev/null 2>&1 &`,
    waitFor(sh`[ -e ${RESTART_RC} ]`, RESTART_WAIT_SECONDS),
    sh`if [ -e ${RESTART_RC} ]; then echo "restart-rc=$(cat ${RESTART_RC})"; else echo restart-running; fi`,
    sh`tail -n 20 -- ${RESTART_LOG} >&2 2>/dev/null || true`,
  ].join('\n');
}

function waitFor(condition: string, seconds: number): string {
  return `i=0; until ${condition} || [ $i -ge ${seconds * 10} ]; do sleep 0.1; i=$((i + 1)); done`;
}

/**
 * Puts back what every undo record under `undoDir` names (or removes what did
 * not exist), atomically per file: whatever this apply changed, the files it
 * rendered, the ones it retired and the leftovers it found on the host alike.
 */
export function restoreScript(undoDir: string = UNDO_DIR): string {
  return [
    sh`find ${undoDir} -type f 2>/dev/null | while IFS= read -r u; do`,
    `  p=\${u#${quote(undoDir)}}; t="\${p%/*}/.\${p##*/}.hvmctl-tmp.rollback"`,
    '  b=; m=; o=; g=; { read -r b; read -r m o g; } < "$u"',
    '  if [ -z "$b" ]; then rm -f -- "$p"; echo "removed $p"',
    '  elif [ -f "$b" ]; then cp -- "$b" "$t" && chown "$o:$g" -- "$t" && chmod "$m" -- "$t" && mv -f -- "$t" "$p" && echo "restored $p from $b"',
    '  else echo "the backup of $p is gone: $b"; fi',
    'done',
  ].join('\n');
}

/** What the detached rollback does after the delay, unless a confirmation claimed it first. */
export function rollbackScript(method: NetworkMethod, names: NetworkNames): string {
  return [
    `sleep ${ROLLBACK_DELAY_SECONDS}`,
    sh`mv -f -- ${ROLLBACK_PID} ${ROLLBACK_FIRED} 2>/dev/null || exit 0`,
    // root's only, as the balancer's logs (tasks/ops/balancer.ts): it names files and tools' output.
    // Made so, and an older directory and log made so too (only taking away: a tighter mode
    // stays). The umask only in a subshell: the network the rollback starts again (dhclient
    // writing resolv.conf, say) must get root's usual one.
    sh`(umask 027 && mkdir -p -m 0750 -- ${posix.dirname(ROLLBACK_LOG)} && : >> ${ROLLBACK_LOG} && chmod g-w,o-rwx -- ${posix.dirname(ROLLBACK_LOG)} ${ROLLBACK_LOG}); exec >> ${ROLLBACK_LOG} 2>&1`,
    `echo "$(date -u +%FT%TZ) hvmctl: network change not confirmed within ${ROLLBACK_DELAY_SECONDS} s: back to the previous files (${method.tool})"`,
    `( ${method.stop}\n)`,
    restoreScript(),
    deleteBridgeScript(names.bridge),
    `( ${method.start}\n)`,
    sh`rm -rf -- ${UNDO_DIR}`,
    `echo "$(date -u +%FT%TZ) hvmctl: rollback done"`,
  ].join('\n');
}

/** Arms the rollback, detached from the SSH session (it survives the connection dropping). */
export function armScript(method: NetworkMethod, names: NetworkNames): string {
  return [
    disarmScript(),
    sh`mkdir -p -- ${RUN_DIR} && rm -f -- ${ROLLBACK_FIRED} ${RESTART_RC}`,
    sh`setsid nohup sh -c ${rollbackScript(method, names)} </dev/null >/dev/null 2>&1 &`,
    sh`echo $! > ${ROLLBACK_PID}`,
  ].join('\n');
}

/** Claims and kills a pending rollback (its whole process group: setsid made it a group leader). Prints what it found. */
export function disarmScript(): string {
  const claimed = quote(`${ROLLBACK_PID}.disarming`);
  return [
    sh`if mv -f -- ${ROLLBACK_PID} ${raw(claimed)} 2>/dev/null; then`,
    `  p=$(cat ${claimed}); kill -TERM "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null; rm -f -- ${claimed}; echo rollback=disarmed`,
    sh`elif [ -e ${ROLLBACK_FIRED} ]; then echo rollback=fired`,
    'else echo rollback=none; fi',
  ].join('\n');
}

/**
 * Run over a NEW connection: waits (bounded) for the restart to end, prints its
 * outcome, then claims the rollback and clears the undo records, unless the
 * restart is still running (then nothing is claimed: ask again), the restart
 * failed (then the rollback is left armed: the host goes back to its previous
 * files as if it had been cut off, and a NetworkManager checkpoint is kept
 * for NetworkManager to roll back), or the rollback already started.
 */
export function confirmScript(confirm?: string): string {
  return [
    waitFor(sh`[ -e ${RESTART_RC} ] || [ ! -e ${ROLLBACK_PID} ]`, CONFIRM_WAIT_SECONDS),
    sh`if [ -e ${RESTART_RC} ]; then echo "restart-rc=$(cat ${RESTART_RC})"; tail -n 5 -- ${RESTART_LOG} 2>/dev/null | sed 's/^/restart-log: /'`,
    sh`elif [ -e ${ROLLBACK_PID} ]; then echo restart-running; exit 0`,
    'else echo restart-unknown; fi',
    sh`if [ -e ${RESTART_RC} ] && [ "$(cat ${RESTART_RC})" != 0 ] && [ -e ${ROLLBACK_PID} ]; then echo rollback=left; exit 0; fi`,
    disarmScript(),
    confirm === undefined ? sh`if [ ! -e ${ROLLBACK_FIRED} ]; then rm -rf -- ${UNDO_DIR}; fi` : sh`if [ ! -e ${ROLLBACK_FIRED} ]; then rm -rf -- ${UNDO_DIR}; ${raw(confirm)}; fi`,
  ].join('\n');
}

export type RestartState = { readonly state: 'done'; readonly code: number } | { readonly state: 'running' } | { readonly state: 'unknown' };
/** `left`: the restart failed and the confirmation left the rollback armed. */
export type RollbackState = 'disarmed' | 'fired' | 'none' | 'left';

export interface Confirmation {
  readonly restart: RestartState;
  /** Undefined when the confirmation did not get that far (restart still running). */
  readonly rollback?: RollbackState;
  /** The end of the restart's output, when it ended. */
  readonly log: readonly string[];
}

/** Pure: the restart's and the rollback's state from detachedRestartScript's or confirmScript's output. */
export function parseConfirmation(stdout: string): Confirmation {
  let restart: RestartState = { state: 'unknown' };
  let rollback: RollbackState | undefined;
  const log: string[] = [];
  for (const line of stdout.split('\n')) {
    const rc = /^restart-rc=(\d+)$/.exec(line);
    if (rc) restart = { state: 'done', code: Number(rc[1]) };
    else if (line === 'restart-running') restart = { state: 'running' };
    else if (line.startsWith('restart-log: ')) log.push(line.slice('restart-log: '.length));
    else {
      const rb = /^rollback=(disarmed|fired|none|left)$/.exec(line);
      if (rb) rollback = rb[1] as RollbackState;
    }
  }
  return rollback === undefined ? { restart, log } : { restart, rollback, log };
}
