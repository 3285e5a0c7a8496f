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
//     a unit that is not enabled and active is enabled and started (an
//     inactive one is not restarted with nftables.service, below).
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
import { systemdIsPid1 } from '../facts/process.ts';
import { ABSENT, unexpected } from '../facts/result.ts';
import { TaskCheckError } from './task-error.ts';
import { filesTask } from './file.ts';

export const bridgeGuardFilesTask: Task = filesTask({
  name: 'bridge guard files',
  tags: ['firewall', 'guard'],
  stage: 'hypervisor',
  applies: isHypervisor,
  files: (ctx) => managedFiles(ctx.inventory, ctx.host).filter((f) => f.tags.includes('guard')),
});

/** The guard as it runs: its table, checked against the file, and its boot unit. */
export interface GuardState {
  /**
   * `same`: loaded, and as nft reads the file; `differs`: loaded, but changed
   * since (a rule deleted or added by hand); `missing`; `unchecked`: loaded,
   * but the file could not be read into a scratch namespace to compare.
   */
  readonly table: 'same' | 'differs' | 'missing' | 'unchecked';
  /** `diff -u` of the file as nft reads it against the table as it runs (differs), or why it was not compared (unchecked). */
  readonly detail: string;
  /** The unit's UnitFileState (`enabled`, `disabled`, `masked`; `not-found` when it has no unit file), or `no-systemd`. */
  readonly unit: string;
  /**
   * The unit's ActiveState (`active`, `inactive`, `failed`), or `none` without systemd. An
   * inactive unit is not restarted or reloaded with nftables.service (PartOf=), so its table
   * would stay flushed.
   */
  readonly active: string;
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
    `if ${systemdIsPid1}; then`,
    `  s=$(${sh`systemctl show -p UnitFileState -p ActiveState ${BRIDGE_GUARD.unit}`} 2>/dev/null)`,
    `  f=$(printf '%s\\n' "$s" | sed -n 's/^UnitFileState=//p'); a=$(printf '%s\\n' "$s" | sed -n 's/^ActiveState=//p')`,
    `  echo "unit \${f:-not-found} \${a:-unknown}"`,
    `else echo 'unit no-systemd none'; fi`,
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
  const unit = /^unit ([a-z-]+) ([a-z-]+)$/.exec(lines[0] ?? '');
  const table = /^table ([a-z]+)$/.exec(lines[1] ?? '')?.[1];
  if (unit === null || !TABLE_STATES.includes(table as GuardState['table'])) {
    throw new ParseError(`the bridge guard's state`, `unexpected output ${JSON.stringify(result.stdout.slice(0, 200))}`, hint);
  }
  return { unit: unit[1]!, active: unit[2]!, table: table as GuardState['table'], detail: lines.slice(2).join('\n').trim() };
}

function unitFix(unit: string, active: string): string | undefined {
  if (unit === 'no-systemd') return undefined;
  if (unit === 'masked') {
    throw new TaskCheckError('E_GUARD', `${BRIDGE_GUARD.unit} is masked: the guard would not be loaded at boot`, `systemctl unmask ${BRIDGE_GUARD.unit}, then run apply again`);
  }
  if (unit === 'not-found') return `${BRIDGE_GUARD.unit} is not installed yet`;
  const wrong = [unit !== 'enabled' ? unit : undefined, active !== 'active' ? active : undefined].filter((x) => x !== undefined);
  return wrong.length === 0 ? undefined : `${BRIDGE_GUARD.unit} is ${wrong.join(' and ')}`;
}

export function planGuard(facts: { readonly guard: GuardState }): TaskResult {
  const { table, detail, unit, active } = facts.guard;
  const why = [
    table === 'missing' ? `table bridge ${BRIDGE_GUARD.table} is missing` : undefined,
    table === 'differs' ? `table bridge ${BRIDGE_GUARD.table} was changed since it was loaded` : undefined,
    unitFix(unit, active),
  ].filter((x): x is string => x !== undefined);
  if (why.length === 0) {
    const checked = table === 'unchecked' ? ` (not compared with ${BRIDGE_GUARD.file}: ${detail.split('\n')[0] || 'unshare --net failed'})` : ` as ${BRIDGE_GUARD.file} says`;
    return { changes: [], reason: `table bridge ${BRIDGE_GUARD.table} loaded${checked}${unit === 'enabled' ? `, ${BRIDGE_GUARD.unit} enabled and active` : ''}` };
  }
  return {
    changes: [{ summary: `load ${BRIDGE_GUARD.file} through its unit, enabled (${why.join('; ')})`, commands: [], notify: ['bridge-guard-load'], ...(table === 'differs' && detail ? { diff: `${detail}\n` } : {}) }],
    reason: '',
  };
}

export const bridgeGuardLiveTask: Task<{ guard: GuardState }> = {
  name: 'bridge guard',
  tags: ['firewall', 'guard'],
  stage: 'hypervisor',
  applies: isHypervisor,
  facts: () => ({ guard: guardState }),
  plan: (_ctx, facts) => planGuard(facts),
};

export const bridgeGuardTasks: readonly Task[] = [bridgeGuardFilesTask, bridgeGuardLiveTask as Task];
