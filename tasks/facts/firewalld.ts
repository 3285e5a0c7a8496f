// Fact: firewalld's PERMANENT configuration of the zone hvmctl manages
// (`hvmctl`), plus the default zone. One script: whether firewall-cmd exists
// and firewalld runs, then `--get-default-zone`, `--permanent --get-zones`,
// and when the zone exists its target, sources and rich rules (one a line,
// as firewalld stores them). Parsed purely.
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import { sh } from '../../src/shell.ts';
import type { Fact } from '../engine/types.ts';
import { ABSENT, unexpected } from './result.ts';

/** The zone apply owns: every rich rule in it is hvmctl's. */
export const HVMCTL_ZONE = 'hvmctl';

/** Exit status of the fact script when firewall-cmd exists but firewalld is not running. */
export const STOPPED = 4;

export interface FirewalldZone {
  /** `--get-target`: `default` for a new zone, else ACCEPT, DROP, REJECT. */
  readonly target: string;
  readonly sources: readonly string[];
  readonly richRules: readonly string[];
}

export type FirewalldState =
  | { readonly state: 'absent' }
  | { readonly state: 'stopped' }
  | {
      readonly state: 'running';
      readonly defaultZone: string;
      readonly zones: readonly string[];
      /** Undefined when the zone does not exist (yet). */
      readonly zone: FirewalldZone | undefined;
    };

const fc = (args: string): string => `firewall-cmd ${args}`;

export const firewalldZone: Fact<FirewalldState> = {
  key: `firewalld:${HVMCTL_ZONE}`,
  command: [
    `command -v firewall-cmd >/dev/null 2>&1 || exit ${ABSENT}`,
    `firewall-cmd --state >/dev/null 2>&1 || exit ${STOPPED}`,
    `printf 'default-zone: %s\\n' "$(${fc('--get-default-zone')})"`,
    `zones=$(${fc('--permanent --get-zones')}) || exit 5`,
    `printf 'zones: %s\\n' "$zones"`,
    sh`case " $zones " in *${` ${HVMCTL_ZONE} `}*) ;; *) exit 0;; esac`,
    `printf 'target: %s\\n' "$(${fc(sh`--permanent --zone=${HVMCTL_ZONE} --get-target`)})"`,
    `printf 'sources: %s\\n' "$(${fc(sh`--permanent --zone=${HVMCTL_ZONE} --list-sources`)})"`,
    `echo 'rich rules:'`,
    fc(sh`--permanent --zone=${HVMCTL_ZONE} --list-rich-rules`),
  ].join('\n'),
  parse: (result: RunResult) => {
    if (result.code === ABSENT) return { state: 'absent' };
    if (result.code === STOPPED) return { state: 'stopped' };
    if (result.code !== 0) throw unexpected('firewall-cmd (firewalld zone)', result, 'apply needs root to read the firewalld configuration');
    return parseFirewalldZone(result.stdout);
  },
};

/** Parses the fact script's output (see `firewalldZone.command`). */
export function parseFirewalldZone(text: string): FirewalldState {
  const lines = text.split('\n');
  const field = (i: number, name: string): string => {
    const line = lines[i];
    const prefix = `${name}:`;
    if (line === undefined || !line.startsWith(prefix)) {
      throw new ParseError(`firewalld fact line ${i + 1}`, `expected '${prefix} ...', got ${JSON.stringify(line ?? '<end>')}`);
    }
    return line.slice(prefix.length).trim();
  };
  const defaultZone = field(0, 'default-zone');
  const zones = field(1, 'zones').split(/\s+/).filter(Boolean);
  if (defaultZone === '' || zones.length === 0) throw new ParseError('firewalld fact', `no default zone or zone list in ${JSON.stringify(text)}`);
  if (!zones.includes(HVMCTL_ZONE)) {
    if (lines.slice(2).some((l) => l.trim() !== '')) throw new ParseError('firewalld fact line 3', `unexpected output after the zone list: ${JSON.stringify(lines[2])}`);
    return { state: 'running', defaultZone, zones, zone: undefined };
  }
  const target = field(2, 'target');
  if (target === '') throw new ParseError('firewalld fact line 3', 'empty zone target');
  const sources = field(3, 'sources').split(/\s+/).filter(Boolean);
  if (lines[4] !== 'rich rules:') throw new ParseError('firewalld fact line 5', `expected 'rich rules:', got ${JSON.stringify(lines[4] ?? '<end>')}`);
  const richRules = lines.slice(5).filter((l) => l.trim() !== '');
  richRules.forEach((r, i) => {
    if (!r.startsWith('rule ')) throw new ParseError(`firewalld fact line ${i + 6}`, `not a rich rule: ${JSON.stringify(r)}`);
  });
  return { state: 'running', defaultZone, zones, zone: { target, sources, richRules } };
}
