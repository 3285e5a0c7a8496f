// Fact: a systemd unit's state, `systemctl is-enabled` and `is-active`, or
// undefined where PID 1 is not systemd (containers, the old lab; the same
// test as every other, `systemdIsPid1`). Every task that enables a unit reads
// it through this one fact, so there is one rule for "enabled".
//
// "Enabled" means: started at boot by its own [Install] section, so that
// apply's `systemctl enable UNIT` on the same name makes it true. `enabled`
// and `static` (no [Install]: nothing to enable) count; `enabled-runtime`
// (gone at reboot), `alias`, `disabled`, `masked` and an empty answer (no
// such unit file: its package is not installed yet) do not.
//
// `indirect` does not count either. systemctl(1): the unit file itself is not
// enabled, but it has a non-empty Also= (or an alias not listed there): its
// state is the OTHER units', which this answer does not tell. virtlogd.service
// answers `indirect` whether virtlogd.socket is enabled or not
// (test/fixtures/captured/systemctl-is-enabled-bookworm.txt, before and after
// enabling). Counting it as enabled would pass a daemon that nothing starts
// at boot, which is what apply checks for. The price: a unit that answers
// `indirect` can never look enabled, so apply must name the unit that carries
// the [Install] (virtlogd.socket, in src/os/profiles.ts), never an indirect
// one; test/facts/systemd-unit.test.ts checks that no unit apply names
// answers `indirect`.
// Likewise apply never names an alias (systemctl reports an alias as `alias`
// even when its unit is enabled): the same test checks every Debian unit name
// apply uses against the unit files the packages ship.
import type { RunResult } from '../../src/connector/connector.ts';
import { sh } from '../../src/shell.ts';
import type { Fact } from '../engine/types.ts';
import { ParseError } from '../../src/errors.ts';
import { systemdIsPid1 } from './process.ts';

export interface UnitState {
  readonly enabled: boolean;
  readonly active: boolean;
}

export function unitState(unit: string): Fact<UnitState | undefined> {
  return {
    key: `unit:${unit}`,
    command: `if ! ${systemdIsPid1}; then echo no-systemd; exit 0; fi; ` + sh`echo "enabled=$(systemctl is-enabled ${unit} 2>/dev/null)"; echo "active=$(systemctl is-active ${unit} 2>/dev/null)"`,
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
