// The bridge guard (issue: guests on the bridge): on each hypervisor, a table
// of the bridge family drops every frame that enters a bridge through a port
// other than the uplink (a guest's tap) with a cluster host's IPv4 source or
// ARP sender address, a host's source MAC, or a VLAN tag
// (templates/bridge-guard.nft.hbs). The export and the
// firewall trust the hosts' addresses; a /32 is a boundary only if no guest
// can claim it, and the guests share the hosts' segment. The firewall cannot
// tell: a forged packet, or one sent after an ARP reply that took the address,
// arrives from the right address. The hypervisor can: it sees the port.
//   - the rules file and its boot unit (a whole file each; a change loads the
//     rules and enables the unit: handler bridge-guard-load);
//   - the table as it runs, against the file (both as nft prints them, the
//     file read in a scratch network namespace): missing (flushed by hand, a
//     reboot without the unit) or changed by hand means it is loaded again;
//     a unit that is not enabled and active is enabled and started.
// Every frame from the uplink passes: the hosts' own traffic, and what other
// machines of the LAN send, which this host cannot police. So the uplink's
// name must be right: a wrong one would drop the other hosts' traffic. The
// tasks run in the hypervisor stage, after the base stage's network restart
// was confirmed (a host whose restart failed, and went back to its previous
// network files, runs nothing more), so the guard only ever names an uplink
// the host was reached over.
import { isHypervisor } from '../../src/inventory/types.ts';
import { BRIDGE_GUARD, managedFiles } from '../../src/render/managed-files.ts';
import { sh } from '../../src/shell.ts';
import type { Fact, Task, TaskResult } from '../engine/types.ts';
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import { type UnitState, unitState } from '../facts/systemd-unit.ts';
import { ABSENT, unexpected } from '../facts/result.ts';
import { filesTask } from './file.ts';

export const bridgeGuardFilesTask: Task = filesTask({
  name: 'bridge guard files',
  tags: ['firewall', 'guard'],
  stage: 'hypervisor',
  applies: isHypervisor,
  files: (ctx) => managedFiles(ctx.inventory, ctx.host).filter((f) => f.tags.includes('guard')),
});

/** The guard's table as it runs, checked against the file. */
export interface GuardState {
  /**
   * `same`: loaded, and as nft reads the file; `differs`: loaded, but changed
   * since (a rule deleted or added by hand); `missing`; `unchecked`: loaded,
   * but the file could not be read into a scratch namespace to compare.
   */
  readonly table: 'same' | 'differs' | 'missing' | 'unchecked';
  /** `diff -u` of the file as nft reads it against the table as it runs (differs), or why it was not compared (unchecked). */
  readonly detail: string;
}

const TABLE_STATES = ['same', 'differs', 'missing', 'unchecked'] as const;

/**
 * The table is compared as nft prints it, without its counters (`nft -s`):
 * the file is loaded into a network namespace of the fact's own (`unshare
 * --net`, which changes nothing on the host) and listed the same way.
 */
export function guardStateCommand(file: string = BRIDGE_GUARD.file): string {
  const scratch = sh`unshare --net sh -c 'nft -f "$1" && nft -s list table bridge "$2"' sh ${file} ${BRIDGE_GUARD.table}`;
  return [
    `command -v nft >/dev/null 2>&1 || exit ${ABSENT}`,
    // both listings in files of a directory of the fact's own, removed when the fact exits
    `d=$(mktemp -d) || exit 1`,
    `trap 'rm -rf -- "$d"' EXIT`,
    `if ! ${sh`nft -s list table bridge ${BRIDGE_GUARD.table}`} > "$d/live" 2>/dev/null; then echo 'table missing'; exit 0; fi`,
    // the scratch load's stderr apart: a warning nft prints must not read as a difference
    `if ! ${scratch} > "$d/want" 2> "$d/err"; then echo 'table unchecked'; head -n 2 "$d/err"; exit 0; fi`,
    `if [ "$(cat "$d/want")" = "$(cat "$d/live")" ]; then echo 'table same'; exit 0; fi`,
    `echo 'table differs'`,
    `${sh`diff -u --label ${`${file} (as nft reads it)`} --label ${`table bridge ${BRIDGE_GUARD.table} (as it runs)`}`} "$d/want" "$d/live"`,
    `exit 0`,
  ].join('\n');
}

export const guardState: Fact<GuardState> = {
  key: `nft:bridge:${BRIDGE_GUARD.table}`,
  command: guardStateCommand(),
  parse: (result) => parseGuardState(result),
};

export function parseGuardState(result: RunResult): GuardState {
  const hint = 'install nftables (the packages task does on a normal apply)';
  if (result.code !== 0) throw unexpected(`nft (table bridge ${BRIDGE_GUARD.table})`, result, hint);
  const lines = result.stdout.split('\n');
  const table = /^table ([a-z]+)$/.exec(lines[0] ?? '')?.[1];
  if (!TABLE_STATES.includes(table as GuardState['table'])) {
    throw new ParseError(`the bridge guard's table`, `unexpected output ${JSON.stringify(result.stdout.slice(0, 200))}`, hint);
  }
  return { table: table as GuardState['table'], detail: lines.slice(1).join('\n').trim() };
}

/**
 * The table, and under systemd the unit (the one rule for "enabled": tasks/facts/systemd-unit.ts),
 * which must be enabled, to load it at boot, and active, as the handler leaves it.
 */
export function planGuard(facts: { readonly guard: GuardState; readonly unit: UnitState | undefined }): TaskResult {
  const { table, detail } = facts.guard;
  const unit = facts.unit;
  const unitWrong = unit === undefined ? [] : [unit.enabled ? undefined : 'not enabled', unit.active ? undefined : 'not active'].filter((x) => x !== undefined);
  const why = [
    table === 'missing' ? `table bridge ${BRIDGE_GUARD.table} is missing` : undefined,
    table === 'differs' ? `table bridge ${BRIDGE_GUARD.table} was changed since it was loaded` : undefined,
    unitWrong.length > 0 ? `${BRIDGE_GUARD.unit} is ${unitWrong.join(' and ')}` : undefined,
  ].filter((x): x is string => x !== undefined);
  if (why.length === 0) {
    const checked = table === 'unchecked' ? ` (not compared with ${BRIDGE_GUARD.file}: ${detail.split('\n')[0] || 'unshare --net failed'})` : ` as ${BRIDGE_GUARD.file} says`;
    return { changes: [], reason: `table bridge ${BRIDGE_GUARD.table} loaded${checked}${unit ? `, ${BRIDGE_GUARD.unit} enabled and active` : ''}` };
  }
  return {
    changes: [{ summary: `load ${BRIDGE_GUARD.file} through its unit, enabled (${why.join('; ')})`, commands: [], notify: ['bridge-guard-load'], ...(table === 'differs' && detail ? { diff: `${detail}\n` } : {}) }],
    reason: '',
  };
}

export const bridgeGuardLiveTask: Task<{ guard: GuardState; unit: UnitState | undefined }> = {
  name: 'bridge guard',
  tags: ['firewall', 'guard'],
  stage: 'hypervisor',
  applies: isHypervisor,
  facts: () => ({ guard: guardState, unit: unitState(BRIDGE_GUARD.unit) }),
  plan: (_ctx, facts) => planGuard(facts),
};

export const bridgeGuardTasks: readonly Task[] = [bridgeGuardFilesTask, bridgeGuardLiveTask as Task];
