// Facts about what runs on a host: a process by exact name, and PID 1's name
// (systemd or not decides how services are started).
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import { sh } from '../../src/shell.ts';
import type { Fact } from '../engine/types.ts';
import { unexpected } from './result.ts';

/** PIDs of processes named exactly `name` (`pgrep -x`), empty when none runs. */
export function processIds(name: string): Fact<readonly number[]> {
  return {
    key: `pgrep:${name}`,
    command: sh`pgrep -x ${name}`,
    parse: (result: RunResult) => parsePgrep(name, result),
  };
}

export function parsePgrep(name: string, result: RunResult): number[] {
  // pgrep: 0 = found, 1 = none matched, 2/3 = syntax or fatal error.
  if (result.code === 1 && result.stdout.trim() === '') return [];
  if (result.code !== 0) throw unexpected(`pgrep -x ${name}`, result, 'is procps (pgrep) installed?');
  return result.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      if (!/^\d+$/.test(l.trim())) throw new ParseError(`pgrep -x ${name}`, `not a pid: ${JSON.stringify(l)}`);
      return Number(l.trim());
    });
}

/** PID 1's name, e.g. `systemd`: its /proc/1/comm (what `ps -p 1 -o comm=` prints), read by the
 * shell itself. `ps` took 13 ms a call on the lab's hosts, and every unit-state fact asks. */
const READ_PID1 = 'read -r __hv_pid1 < /proc/1/comm';
const PID1_NAME = `${READ_PID1} && printf '%s\\n' "$__hv_pid1"`;

/**
 * PID 1's name. Whether it is systemd decides how services are started and
 * enabled: read it through this fact and `isSystemd()`, or, in a command that
 * decides on the host (a handler, the unit-state fact), `systemdIsPid1`: one
 * rule, written once.
 */
export const initProcess: Fact<string> = {
  key: 'init-process',
  command: PID1_NAME,
  parse: parseInitProcess,
};

export function parseInitProcess(result: RunResult): string {
  const name = result.stdout.trim();
  if (result.code !== 0 || name === '' || name.includes('\n')) throw unexpected('/proc/1/comm', result);
  return name;
}

export function isSystemd(init: string): boolean {
  return init === 'systemd';
}

/** `isSystemd()` as a shell condition, for commands that decide on the host itself. One compound
 * command, so `! ${systemdIsPid1}` negates all of it. */
export const systemdIsPid1 = `{ { ${READ_PID1}; } 2>/dev/null && [ "$__hv_pid1" = systemd ]; }`;
