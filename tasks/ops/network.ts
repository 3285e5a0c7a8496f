// Network: the bridge files of the host's network backend (e.g. the whole
// /etc/network/interfaces for ifupdown, ifcfg-eth0/ifcfg-br0 for ifcfg;
// rendered by managed-files.ts) and the 'network-restart' handler with its SAFETY NET:
//   1. each write records what to restore (file.ts undo records, UNDO_DIR);
//   2. arm: on the host, a detached rollback that, ROLLBACK_DELAY_SECONDS
//      later, takes the new network down, restores the previous files from
//      the backups and starts the network again (network-restart.ts);
//   3. restart the network with the host's own tool, detached from the
//      session it may cut;
//   4. from the operator side, open a NEW connection (until PROBE_DEADLINE_MS
//      after arming): it waits for the restart's outcome and claims the
//      rollback (disarms it). Unreachable: report the failure and the bound
//      (ROLLBACK_SECONDS); the host goes back by itself.
// Where the host has no tool to restart with, the files are still managed and
// the handler says "skipped: ... restart by hand".
import { posix } from 'node:path';
import type { NetworkBackend } from '../../src/inventory/types.ts';
import { managedFiles, type NetworkFacts } from '../../src/render/managed-files.ts';
import { replacedNetworkFiles } from '../../src/render/network-files.ts';
import type { ManagedFile } from '../../src/render/types.ts';
import { sh } from '../../src/shell.ts';
import { gatherFacts } from '../engine/facts.ts';
import type { Change, Fact, Handler, HandlerContext, HandlerOutcome, Task, TaskContext } from '../engine/types.ts';
import { commandPath } from '../facts/command-path.ts';
import { type NetworkManagerVersion, networkManagerVersion } from '../facts/network-manager.ts';
import { networkService } from '../facts/network-service.ts';
import { initProcess, isSystemd } from '../facts/process.ts';
import { ownNetworkFiles } from '../facts/own-network-files.ts';
import { type FileState, filesTask, type RetiredFile } from './file.ts';
import {
  armScript,
  type Confirmation,
  confirmScript,
  detachedRestartScript,
  type NetworkMethod,
  networkMethod,
  type NetworkNames,
  methodNeeds,
  type NetworkTools,
  parseConfirmation,
  withPortCheck,
  ROLLBACK_DELAY_SECONDS,
  ROLLBACK_LOG,
  ROLLBACK_SECONDS,
  UNDO_DIR,
} from './network-restart.ts';

export { ROLLBACK_PID, ROLLBACK_SECONDS, UNDO_DIR } from './network-restart.ts';
export type { NetworkTools } from './network-restart.ts';

/** How long after arming the operator side keeps trying to confirm; inside the rollback delay. */
export const PROBE_DEADLINE_MS = 30_000;

/** The host's network files; `facts`: what the host said that changes their content (its NetworkManager's version). */
export function networkFiles(ctx: Omit<TaskContext, 'cluster'>, facts: NetworkFacts = {}): ManagedFile[] {
  return managedFiles(ctx.inventory, ctx.host, facts).filter((f) => f.tags.includes('network'));
}

/**
 * Network files apply removes: another backend's (a host that changed
 * backends would otherwise configure the bridge twice, e.g. NetworkManager's
 * keyfiles beside ifupdown's stanza) and earlier versions' (ifupdown merges
 * every `iface br0` it reads, so the old interfaces.d file would add its
 * address a second time).
 */
export function retiredNetworkFiles(ctx: Omit<TaskContext, 'cluster'>): RetiredFile[] {
  return replaced(ctx);
}

const retiredBy: Readonly<Record<NetworkBackend, string>> = {
  ifupdown: '/etc/network/interfaces',
  ifcfg: 'the ifcfg files',
  networkmanager: 'the NetworkManager keyfiles',
  netplan: "hvmctl's netplan file",
  networkd: "hvmctl's networkd files",
};

function replaced(ctx: Omit<TaskContext, 'cluster'>): RetiredFile[] {
  const by = retiredBy[ctx.host.networkBackend];
  return replacedNetworkFiles(ctx.host, ctx.inventory.cluster.bridge).map((path) => ({ path, why: `replaced by ${by}`, notify: ['network-restart'] }));
}

/** The files task, its files rendered with what the host said (`facts`). */
const filesWith = (facts: NetworkFacts) =>
  filesTask({
    name: 'network files',
    tags: ['network', 'base'],
    stage: 'base',
    files: (ctx) => networkFiles(ctx, facts),
    retired: retiredNetworkFiles,
    leftovers: { fact: ownNetworkFiles, why: 'hvmctl wrote it for a bridge or port the inventory no longer names', notify: ['network-restart'] },
    undoDir: UNDO_DIR,
  });
const files = filesWith({});

const UNCONFIRMED = 'network-unconfirmed';

/** Undo records left behind: an earlier apply changed the files and never confirmed a restart (it was killed). */
export const unconfirmedFact: Fact<boolean> = {
  key: UNCONFIRMED,
  command: sh`if [ -d ${UNDO_DIR} ]; then echo unconfirmed; else echo none; fi`,
  parse: (r) => r.stdout.trim() === 'unconfirmed',
};

const NM_VERSION = networkManagerVersion.key;

type NetworkTaskFacts = Record<string, FileState | readonly string[] | boolean | NetworkManagerVersion | undefined>;

/**
 * The files task, plus a restart when an earlier apply wrote the files but
 * never restarted the network. With NetworkManager as the backend, its
 * version decides the keyfiles' port keys.
 */
export const networkTask: Task<NetworkTaskFacts> = {
  ...files,
  facts: (ctx) => ({
    ...files.facts(ctx),
    [UNCONFIRMED]: unconfirmedFact,
    ...(ctx.host.networkBackend === 'networkmanager' ? { [NM_VERSION]: networkManagerVersion } : {}),
  }),
  plan(ctx, facts) {
    const fileFacts: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(facts)) if (k !== NM_VERSION && k !== UNCONFIRMED && v !== undefined && typeof v === 'object') fileFacts[k] = v;
    const nm = facts[NM_VERSION] as NetworkManagerVersion | undefined;
    const result = filesWith(nm === undefined ? {} : { networkManager: nm }).plan(ctx, fileFacts);
    if (result.changes.length > 0 || facts[UNCONFIRMED] !== true) return result;
    const restart: Change = {
      summary: 'restart the network: an earlier apply changed its files and never confirmed a restart',
      commands: [],
      notify: ['network-restart'],
    };
    return { changes: [restart], reason: '' };
  },
};

const restartTools = ['ifup', 'ifreload', 'nmcli', 'busctl', 'netplan', 'networkctl'] as const;

/** The tools a backend's restart may use (ifupdown and ifcfg: as before issue 13). */
export function networkToolFacts(backend: NetworkBackend = 'ifupdown'): Fact<unknown>[] {
  const base = [commandPath('ifup'), commandPath('ifreload'), commandPath('nmcli'), initProcess, networkService];
  return backend === 'ifupdown' || backend === 'ifcfg' ? base : [...base, commandPath('busctl'), commandPath('netplan'), commandPath('networkctl')];
}

/** What networkToolFacts found, read by each fact's own key. */
export function toolsFrom(values: ReadonlyMap<string, unknown>): NetworkTools {
  const found: Partial<Record<(typeof restartTools)[number], string>> = {};
  for (const tool of restartTools) {
    const path = values.get(commandPath(tool).key);
    if (typeof path === 'string' && path !== '') found[tool] = path;
  }
  return {
    ...found,
    systemd: isSystemd(String(values.get(initProcess.key) ?? '')),
    networkService: values.get(networkService.key) === true,
  };
}

function namesOf(ctx: Omit<TaskContext, 'cluster'>): NetworkNames {
  return { bridge: ctx.inventory.cluster.bridge, iface: ctx.host.interface };
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
  const tools = toolsFrom(await gatherFacts(ctx.connector, networkToolFacts(ctx.host.networkBackend)));
  const method = networkMethod(ctx.host.networkBackend, namesOf(ctx), tools);
  if (!method) {
    // nothing will restart or roll back: the undo records have no use
    await ctx.connector.run(sh`rm -rf -- ${UNDO_DIR}`);
    return { status: 'skipped', reason: `no ${methodNeeds[ctx.host.networkBackend]} on this host; files written, restart by hand` };
  }
  const armedAt = now();
  const armed = await ctx.connector.run(armScript(method, namesOf(ctx)));
  if (armed.code !== 0) {
    return { status: 'failed', reason: `could not arm the rollback (exit ${armed.code}: ${armed.stderr.trim()}); network not restarted` };
  }
  // The restart may cut this very connection: what it says is a hint, the new connection decides.
  const first = await ctx.connector
    .run(detachedRestartScript(withPortCheck(method.restart, namesOf(ctx))), { timeoutMs: opts.restartTimeoutMs ?? 20_000 })
    .then((r) => parseConfirmation(r.stdout), () => undefined);
  const deadline = armedAt + (opts.probeDeadlineMs ?? PROBE_DEADLINE_MS);
  let last = first?.restart.state === 'running' ? 'restart still running' : 'no answer yet';
  for (;;) {
    try {
      const r = await ctx.probe(confirmScript(method.confirm));
      const c = parseConfirmation(r.stdout);
      if (c.rollback !== undefined) return confirmed(c, method, networkFiles(ctx).map((f) => f.path));
      last = r.code === 0 ? `the restart (${method.tool}) was still running` : `confirmation exited ${r.code}: ${r.stderr.trim()}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (now() >= deadline) break;
    await sleep(opts.probeIntervalMs ?? 2000);
  }
  return {
    status: 'failed',
    reason:
      `host unreachable after the network restart (${last}); it restores the previous network files (${names(networkFiles(ctx).map((f) => f.path))}) ` +
      `and restarts its network by itself within ${ROLLBACK_SECONDS} s (see ${ROLLBACK_LOG} there)`,
  };
}

const names = (paths: readonly string[]): string => paths.map((p) => posix.basename(p)).join(', ');

/** Pure: the handler's outcome once a new connection answered. */
export function confirmed(c: Confirmation, method: NetworkMethod, paths: readonly string[]): HandlerOutcome {
  const log = c.log.length > 0 ? `: ${c.log.join(' / ')}` : '';
  if (c.rollback === 'fired') {
    return {
      status: 'failed',
      reason: `network change not confirmed in time (${ROLLBACK_DELAY_SECONDS} s); the host went back to its previous network files (${names(paths)}) by itself within ${ROLLBACK_SECONDS} s (see ${ROLLBACK_LOG} there)`,
    };
  }
  if (c.rollback === 'left') {
    const code = c.restart.state === 'done' ? c.restart.code : '?';
    return {
      status: 'failed',
      reason: `network restart (${method.tool}) exited ${code}${log}; the host is still reachable and goes back to its previous network files (${names(paths)}) by itself within ${ROLLBACK_SECONDS} s (see ${ROLLBACK_LOG} there)`,
    };
  }
  // 'none': no rollback was armed any more when the confirmation ran (its pid file gone, /run
  // cleared, say), so there was nothing to disarm and nothing will put the old files back.
  const none = c.rollback === 'none';
  const rollback = none ? 'no rollback was armed any more (its pid file was gone)' : 'rollback disarmed';
  if (c.restart.state === 'done' && c.restart.code !== 0) {
    const after = none ? `${rollback}, so nothing puts the previous network files back` : rollback;
    return { status: 'failed', reason: `network restart (${method.tool}) exited ${c.restart.code}${log}; host still reachable, ${after}; check its network` };
  }
  return { status: 'changed', reason: `network restarted (${method.tool}); reachable over a new connection, ${rollback}` };
}

export const networkRestartHandler: Handler = {
  name: 'network-restart',
  execute: (ctx) => restartNetworkSafely(ctx),
};
