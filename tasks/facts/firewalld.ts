// Fact: firewalld's PERMANENT configuration of the zone hvmctl manages
// (`hvmctl`), plus the default zone, plus every zone as it runs now. One
// script: whether firewall-cmd exists and firewalld runs, then
// `--get-default-zone`, `--permanent --get-zones`, and when the zone exists
// its target, sources and rich rules (one a line, as firewalld stores them);
// then, after a line `runtime zones:`, `--list-all-zones` as firewalld runs
// them (the interfaces NetworkManager bound at run time included), of which
// each zone's target, interfaces and sources are read: another zone that
// holds the bridge, or takes a range of the guests' addresses, decides their
// traffic instead of zone hvmctl (tasks/ops/firewall-firewalld.ts). Parsed
// purely.
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
      /** Every zone as firewalld runs it now. */
      readonly runtime: readonly RuntimeZone[];
    };

/** A zone as `firewall-cmd --list-all-zones` prints it (runtime), what the bypass check needs. */
export interface RuntimeZone {
  readonly name: string;
  readonly target: string;
  readonly interfaces: readonly string[];
  readonly sources: readonly string[];
}

/** The line between the hvmctl zone's permanent configuration and the runtime zones. */
const RUNTIME_MARK = 'runtime zones:';

const fc = (args: string): string => `firewall-cmd ${args}`;

export const firewalldZone: Fact<FirewalldState> = {
  key: `firewalld:${HVMCTL_ZONE}`,
  command: [
    `command -v firewall-cmd >/dev/null 2>&1 || exit ${ABSENT}`,
    `firewall-cmd --state >/dev/null 2>&1 || exit ${STOPPED}`,
    `printf 'default-zone: %s\\n' "$(${fc('--get-default-zone')})"`,
    `zones=$(${fc('--permanent --get-zones')}) || exit 5`,
    `printf 'zones: %s\\n' "$zones"`,
    sh`case " $zones " in *${` ${HVMCTL_ZONE} `}*)`,
    `printf 'target: %s\\n' "$(${fc(sh`--permanent --zone=${HVMCTL_ZONE} --get-target`)})"`,
    `printf 'sources: %s\\n' "$(${fc(sh`--permanent --zone=${HVMCTL_ZONE} --list-sources`)})"`,
    `echo 'rich rules:'`,
    `${fc(sh`--permanent --zone=${HVMCTL_ZONE} --list-rich-rules`)} || exit 5;;`,
    'esac',
    sh`echo ${RUNTIME_MARK}`,
    fc('--list-all-zones'),
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
  const all = text.split('\n');
  const mark = all.indexOf(RUNTIME_MARK);
  if (mark < 0) throw new ParseError('firewalld fact', `no '${RUNTIME_MARK}' line (firewall-cmd --list-all-zones) in ${JSON.stringify(text.slice(0, 500))}`);
  const runtime = parseRuntimeZones(all.slice(mark + 1), mark + 2);
  const lines = all.slice(0, mark);
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
    return { state: 'running', defaultZone, zones, zone: undefined, runtime };
  }
  const target = field(2, 'target');
  if (target === '') throw new ParseError('firewalld fact line 3', 'empty zone target');
  const sources = field(3, 'sources').split(/\s+/).filter(Boolean);
  if (lines[4] !== 'rich rules:') throw new ParseError('firewalld fact line 5', `expected 'rich rules:', got ${JSON.stringify(lines[4] ?? '<end>')}`);
  const richRules = lines.slice(5).filter((l) => l.trim() !== '');
  richRules.forEach((r, i) => {
    if (!r.startsWith('rule ')) throw new ParseError(`firewalld fact line ${i + 6}`, `not a rich rule: ${JSON.stringify(r)}`);
  });
  return { state: 'running', defaultZone, zones, zone: { target, sources, richRules }, runtime };
}

/**
 * `firewall-cmd --list-all-zones`: a zone's name on a line of its own (at run time followed by
 * `(default, active)` and the like), then its settings indented by two spaces (`  target: DROP`,
 * `  interfaces: br0 eth0`, `  sources: 10.0.0.0/8`), rich rules indented by a tab, a blank line
 * between zones. `first` is the first line's number in the fact's output, for errors.
 */
export function parseRuntimeZones(lines: readonly string[], first = 1): RuntimeZone[] {
  const zones: { name: string; target?: string; interfaces?: string[]; sources?: string[] }[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('\t')) return;
    const where = `firewalld fact line ${first + i}`;
    if (!line.startsWith(' ')) {
      const m = /^([A-Za-z0-9_+-]+)(?: \(([a-z, ]+)\))?$/.exec(line);
      if (!m) throw new ParseError(where, `not a zone name: ${JSON.stringify(line)}`);
      zones.push({ name: m[1] as string });
      return;
    }
    const zone = zones[zones.length - 1];
    const m = /^ {2}([a-z][a-z -]*):(?: (.*))?$/.exec(line);
    if (!zone || !m) throw new ParseError(where, `not a zone setting: ${JSON.stringify(line)}`);
    const value = (m[2] ?? '').trim();
    const words = value.split(/\s+/).filter(Boolean);
    if (m[1] === 'target') zone.target = value;
    else if (m[1] === 'interfaces') zone.interfaces = words;
    else if (m[1] === 'sources') zone.sources = words;
  });
  return zones.map((z) => {
    if (z.target === undefined || z.interfaces === undefined || z.sources === undefined) {
      throw new ParseError('firewalld fact', `zone ${z.name} lists no target, interfaces or sources (firewall-cmd --list-all-zones)`);
    }
    return { name: z.name, target: z.target, interfaces: z.interfaces, sources: z.sources };
  });
}
