// Network: the bridge files (ifcfg-eth0/ifcfg-br0 on RHEL-family hosts, an
// ifupdown stanza on Debian-family hosts; rendered by managed-files.ts) and
// the 'network-restart' handler with its SAFETY NET, all in this module:
//   1. arm: on the host, a detached `sleep 60; restore the .hvmctl-bak files;
//      restart the network` (setsid, pid in /run/hvmctl-network-rollback.pid);
//   2. restart the network (ifreload -a / ifdown+ifup, network service, nmcli);
//   3. from the operator side, open a NEW connection within PROBE_DEADLINE_MS;
//   4. reachable: disarm (kill the rollback); not: report failure, the host
//      puts the previous files back and restarts its network by itself.
// Where the host has no tool to restart with (the lab's Debian hosts have no
// ifupdown and already carry their address), the files are still managed and
// the handler says "skipped: ... restart by hand".
import { posix } from 'node:path';
import type { OsFamily } from '../../src/inventory/types.ts';
import { managedFiles } from '../../src/render/managed-files.ts';
import type { ManagedFile } from '../../src/render/types.ts';
import { quote, sh } from '../../src/shell.ts';
import { gatherFacts } from '../engine/facts.ts';
import type { Command, Fact, Handler, HandlerContext, HandlerOutcome, Task, TaskContext } from '../engine/types.ts';
import { commandPath } from '../facts/command-path.ts';
import { initProcess, isSystemd } from '../facts/process.ts';
import { BACKUP_SUFFIX, filesTask } from './file.ts';

export const ROLLBACK_SECONDS = 60;
/** How long the operator side keeps trying to reconnect; well inside the rollback delay. */
export const PROBE_DEADLINE_MS = 30_000;
export const ROLLBACK_PID = '/run/hvmctl-network-rollback.pid';

export function networkFiles(ctx: Omit<TaskContext, 'cluster'>): ManagedFile[] {
  return managedFiles(ctx.inventory, ctx.host).filter((f) => f.tags.includes('network'));
}

export const networkTask: Task = filesTask({
  name: 'network files',
  tags: ['network', 'base'],
  stage: 'base',
  files: networkFiles,
});

export interface NetworkTools {
  readonly ifup?: string;
  readonly ifreload?: string;
  readonly nmcli?: string;
  readonly systemd: boolean;
  /** A `network` service exists (RHEL network-scripts: /etc/init.d/network or network.service). */
  readonly networkService: boolean;
}

const networkServiceFact: Fact<boolean> = {
  key: 'network-service',
  command: `[ -x /etc/init.d/network ] || systemctl cat network.service >/dev/null 2>&1`,
  parse: (r) => r.code === 0,
};

export function networkToolFacts(): Fact<unknown>[] {
  return [commandPath('ifup'), commandPath('ifreload'), commandPath('nmcli'), initProcess, networkServiceFact];
}

export function toolsFrom(values: ReadonlyMap<string, unknown>): NetworkTools {
  const path = (k: string): string | undefined => values.get(k) as string | undefined;
  return {
    ...(path('command:ifup') ? { ifup: path('command:ifup') } : {}),
    ...(path('command:ifreload') ? { ifreload: path('command:ifreload') } : {}),
    ...(path('command:nmcli') ? { nmcli: path('command:nmcli') } : {}),
    systemd: isSystemd(String(values.get('init-process') ?? '')),
    networkService: values.get('network-service') === true,
  };
}

/** Pure: the command that restarts this host's network, or undefined when it has no way to. */
export function restartScript(osFamily: OsFamily, bridge: string, iface: string, tools: NetworkTools): string | undefined {
  if (osFamily === 'debian') {
    if (tools.ifreload) return 'ifreload -a';
    if (tools.ifup) return sh`ifdown --force ${bridge} 2>/dev/null; ifdown --force ${iface} 2>/dev/null; ifup ${bridge}`;
  }
  if (osFamily === 'redhat') {
    if (tools.networkService) return tools.systemd ? 'systemctl restart network' : '/etc/init.d/network restart';
    if (tools.nmcli) return sh`nmcli connection reload && nmcli connection up ${bridge}`;
    if (tools.ifup) return sh`ifdown ${bridge} 2>/dev/null; ifup ${iface}; ifup ${bridge}`;
  }
  return undefined;
}

/** What the detached rollback does after the delay: previous files back (or the new ones removed), then restart. */
export function rollbackScript(paths: readonly string[], restart: string): string {
  const restore = paths.map((p) => sh`if [ -e ${p + BACKUP_SUFFIX} ]; then cp -pf -- ${p + BACKUP_SUFFIX} ${p}; else rm -f -- ${p}; fi`);
  return [`sleep ${ROLLBACK_SECONDS}`, ...restore, restart, sh`rm -f -- ${ROLLBACK_PID}`].join('; ');
}

/** Arms the rollback, detached from the SSH session (it survives the connection dropping). */
export function armScript(paths: readonly string[], restart: string): string {
  return [
    disarmScript(),
    sh`setsid nohup sh -c ${rollbackScript(paths, restart)} </dev/null >/dev/null 2>&1 &`,
    sh`echo $! > ${ROLLBACK_PID}`,
  ].join('\n');
}

/** Kills a pending rollback (its whole process group: setsid made it a group leader). */
export function disarmScript(): string {
  const pid = quote(ROLLBACK_PID);
  return `if [ -s ${pid} ]; then p=$(cat ${pid}); kill -TERM "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null; rm -f -- ${pid}; fi`;
}

export interface SafetyNetOptions {
  readonly probeDeadlineMs?: number;
  readonly probeIntervalMs?: number;
  readonly restartTimeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

/** The network restart with the safety net (see the top of this file). */
export async function restartNetworkSafely(ctx: HandlerContext, opts: SafetyNetOptions = {}): Promise<HandlerOutcome> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = opts.now ?? Date.now;
  const tools = toolsFrom(await gatherFacts(ctx.connector, networkToolFacts()));
  const restart = restartScript(ctx.host.osFamily, ctx.inventory.cluster.bridge, ctx.host.interface, tools);
  if (!restart) {
    return {
      status: 'skipped',
      reason: `no ifupdown/NetworkManager on this host; files written, restart by hand`,
    };
  }
  const paths = networkFiles(ctx).map((f) => f.path);
  const armed = await ctx.connector.run(armScript(paths, restart));
  if (armed.code !== 0) {
    return { status: 'failed', reason: `could not arm the rollback (exit ${armed.code}: ${armed.stderr.trim()}); network not restarted` };
  }
  // The restart may cut this very connection: its outcome is only a hint, the probe decides.
  const restarted = await ctx.connector
    .run(restart, { timeoutMs: opts.restartTimeoutMs ?? 20_000 })
    .then(
      (r) => (r.code === 0 ? 'ok' : r.code === 124 ? 'dropped' : `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}`),
      () => 'dropped', // the restart cut the session: expected when the route goes through the bridge
    );
  const deadline = now() + (opts.probeDeadlineMs ?? PROBE_DEADLINE_MS);
  let last = '';
  for (;;) {
    try {
      const r = await ctx.probe(disarmScript());
      if (r.code === 0) {
        return restarted === 'ok' || restarted === 'dropped'
          ? { status: 'changed', reason: `network restarted (${restart}); reachable again, rollback disarmed` }
          : { status: 'failed', reason: `network restart reported ${restarted}; host still reachable, rollback disarmed; check its network` };
      }
      last = `disarm exited ${r.code}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (now() >= deadline) break;
    await sleep(opts.probeIntervalMs ?? 2000);
  }
  return {
    status: 'failed',
    reason: `host unreachable after the network restart (${last}); it restores the previous network files (${paths.map((p) => posix.basename(p)).join(', ')}) and restarts its network by itself within ${ROLLBACK_SECONDS} s`,
  };
}

export const networkRestartHandler: Handler = {
  name: 'network-restart',
  // Only for runners without `execute`: arm and restart, no probe.
  commands: (ctx): Command[] => {
    const restart = restartScript(ctx.host.osFamily, ctx.inventory.cluster.bridge, ctx.host.interface, { ifreload: 'ifreload', ifup: 'ifup', nmcli: 'nmcli', systemd: false, networkService: false }) ?? 'false';
    const tool = restart.split(' ')[0] ?? 'ifreload';
    const check = sh`command -v ${tool} >/dev/null 2>&1 || { echo ${`network-restart: no ${tool} on this host; files written, restart the network by hand`} >&2; exit 1; }`;
    return [{ script: `${check}\n${armScript(networkFiles(ctx).map((f) => f.path), restart)}` }, { script: restart }];
  },
  execute: (ctx) => restartNetworkSafely(ctx),
};
