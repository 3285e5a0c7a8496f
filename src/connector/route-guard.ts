// The lab's safety net: before anything connects to an address, the kernel's
// own answer (`ip route get`, which sends no packet) must say the route goes
// out through the lab's bridge. Anything else (the default route, loopback, a
// real network) is refused, so a test or the demo can never reach a real host.
// It sits with the connectors, not in lab/, because the connector factory
// (connect.ts) puts it in front of every connection while a lab is up, and
// `lab ssh` and the lab's own waits call assertLabRoute. The lab's bridge and
// state file are named here for that reason (lab/topology.ts re-exports them).
import { HvmError } from '../errors.ts';
import { runProcess, runProcessSync, type ProcessResult } from '../process.ts';

/** The lab's bridge: the only way out the guard lets a connection take. */
export const LAB_BRIDGE = 'hvmlab0';
/** Where the lab lives on this machine (a tmpfs while it is up). */
export const LAB_DIR = '/var/lib/hvmctl-lab';
/** The lab's record of itself: present exactly while a lab is up. */
export const LAB_STATE = `${LAB_DIR}/state.json`;

export interface RouteAnswer {
  readonly dev: string | undefined;
  readonly via: string | undefined;
  readonly type: string | undefined;
}

/** Pure parser of `ip route get ADDRESS` output (first line). */
export function parseRouteGet(output: string): RouteAnswer {
  const line = output.split('\n')[0]?.trim() ?? '';
  const word = (key: string) => line.match(new RegExp(`(?:^|\\s)${key}\\s+(\\S+)`))?.[1];
  const first = line.split(/\s+/)[0];
  const type = first && ['local', 'broadcast', 'unreachable', 'prohibit', 'blackhole', 'multicast'].includes(first) ? first : undefined;
  return { dev: word('dev'), via: word('via'), type };
}

export class RouteGuardError extends HvmError {
  constructor(address: string, detail: string) {
    super('E_LAB_ROUTE', `refusing to connect to ${address}: ${detail}`, {
      hint: `only addresses routed through the lab bridge ${LAB_BRIDGE} may be used; is the lab up (hvmctl lab status) and is this the lab's inventory?`,
    });
  }
}

/** Pure decision: undefined when the route is a direct lab route, else why not. */
export function labRouteProblem(answer: RouteAnswer): string | undefined {
  if (answer.type) return `its route is of type '${answer.type}'`;
  if (answer.dev !== LAB_BRIDGE) return `its route leaves through '${answer.dev ?? 'nothing'}', not the lab bridge ${LAB_BRIDGE}`;
  if (answer.via) return `its route goes through the gateway ${answer.via}, not straight to a lab host`;
  return undefined;
}

/** Throws RouteGuardError unless `address` is reached through the lab bridge. */
export function assertLabRoute(address: string): void {
  checkAddress(address);
  checkRoute(address, runProcessSync(['ip', 'route', 'get', address], { timeoutMs: 60_000 }));
}

/**
 * The same check as a connector guard hook (SshOptions.guard): refuses a host
 * whose SSH address is not routed through the lab bridge. Asynchronous, so
 * the hosts of one run are checked side by side.
 */
export async function labRouteGuard(host: { readonly sshHost: string }): Promise<void> {
  checkAddress(host.sshHost);
  checkRoute(host.sshHost, await runProcess(['ip', 'route', 'get', host.sshHost], { timeoutMs: 10_000 }));
}

function checkAddress(address: string): void {
  if (!/^[0-9.]+$/.test(address) && !/^[0-9a-fA-F:]+$/.test(address)) {
    throw new RouteGuardError(address, 'not an IP address (resolve names to the inventory address first)');
  }
}

function checkRoute(address: string, r: ProcessResult): void {
  if (r.code !== 0) throw new RouteGuardError(address, `no route (${r.stderr.trim()})`);
  const problem = labRouteProblem(parseRouteGet(r.stdout));
  if (problem) throw new RouteGuardError(address, problem);
}
