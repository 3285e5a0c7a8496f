// Fact: a systemd unit's state, `systemctl is-enabled` and `is-active`, or
// undefined where PID 1 is not systemd (containers, the old lab). Every task
// that enables a unit reads it through this one fact.
//
// "Enabled" means: started at boot by its own [Install] section. `enabled` and
// `static` (no [Install]: nothing to enable) count; `enabled-runtime` (gone at
// reboot), `indirect` (only enabled through another unit's Also=), `alias`,
// `disabled`, `masked` and an empty answer (no such unit file: its package is
// not installed yet) do not. apply never names an alias (systemctl reports an
// alias as `alias` even when its unit is enabled, so apply would never
// converge): test/facts/systemd-unit.test.ts checks every Debian unit name
// apply uses against the unit files the packages ship.
import type { RunResult } from '../../src/connector/connector.ts';
import { sh } from '../../src/shell.ts';
import type { Fact } from '../engine/types.ts';
import { ParseError } from '../../src/errors.ts';

export interface UnitState {
  readonly enabled: boolean;
  readonly active: boolean;
}

export function unitState(unit: string): Fact<UnitState | undefined> {
  return {
    key: `unit:${unit}`,
    command: sh`if [ "$(ps -p 1 -o comm=)" != systemd ]; then echo no-systemd; exit 0; fi; echo "enabled=$(systemctl is-enabled ${unit} 2>/dev/null)"; echo "active=$(systemctl is-active ${unit} 2>/dev/null)"`,
    parse: (result: RunResult) => parseUnitState(unit, result),
  };
}

const ENABLED_STATES: ReadonlySet<string> = new Set(['enabled', 'static']);

export function parseUnitState(unit: string, result: RunResult): UnitState | undefined {
  if (result.stdout.trim() === 'no-systemd') return undefined;
  const enabled = /^enabled=(.*)$/m.exec(result.stdout)?.[1];
  const active = /^active=(.*)$/m.exec(result.stdout)?.[1];
  if (result.code !== 0 || enabled === undefined || active === undefined) {
    throw new ParseError(`state of unit ${unit}`, `unexpected output ${JSON.stringify(result.stdout)}`, `run systemctl status ${unit} on the host`);
  }
  return { enabled: ENABLED_STATES.has(enabled.trim()), active: active.trim() === 'active' };
}
