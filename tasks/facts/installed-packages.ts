// Fact: which of some packages are installed, asked of the host's package
// database by exact name: dpkg-query where the OS family's package tool is
// apt, rpm -q where it is dnf (rpm -q does not follow Provides:, so RHEL names
// are the real packages').
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import type { OsFamily } from '../../src/inventory/types.ts';
import { osProfile, type PackageTool } from '../../src/os/profiles.ts';
import { sh } from '../../src/shell.ts';
import type { Fact } from '../engine/types.ts';

/** Per package tool, the fact of which `names` are installed. */
const installedFacts: Readonly<Record<PackageTool, (names: readonly string[]) => Fact<ReadonlySet<string>>>> = {
  apt: (names) => ({
    key: `dpkg:${names.join(',')}`,
    command: `dpkg-query -W -f='\${Package} \${db:Status-Abbrev}\\n' ${sh`${names}`}`,
    parse: parseDpkgQuery,
  }),
  dnf: (names) => ({
    key: `rpm:${names.join(',')}`,
    command: `rpm -q --qf '%{NAME}\\n' ${sh`${names}`}`,
    parse: (r) => parseRpmQuery(names, r),
  }),
};

/** Installed packages among `names` (dpkg-query where the family's tool is apt, rpm -q where it is dnf). */
export function installedFact(osFamily: OsFamily, names: readonly string[]): Fact<ReadonlySet<string>> {
  return installedFacts[osProfile(osFamily).packageTool](names);
}

/** `pkg ii ` lines; the second status letter `i` means installed. Unknown names only go to stderr (exit 1). */
export function parseDpkgQuery(result: RunResult): ReadonlySet<string> {
  const installed = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^(\S+) ([a-z])([a-zA-Z ])/.exec(line);
    if (!m) throw new ParseError('dpkg-query output', `unexpected line ${JSON.stringify(line)}`, 'is this a Debian-family host? (os_family in the inventory)');
    if (m[3] === 'i') installed.add((m[1] ?? '').replace(/:.*$/, ''));
  }
  if (result.code !== 0 && !/no packages found matching/.test(result.stderr)) {
    throw new ParseError('dpkg-query output', `exit ${result.code}: ${result.stderr.trim()}`, 'is dpkg working on the host?');
  }
  return installed;
}

/** `rpm -q --qf '%{NAME}\n'`: the name for each installed one, `package X is not installed` for the others. */
export function parseRpmQuery(names: readonly string[], result: RunResult): ReadonlySet<string> {
  const installed = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    const l = line.trim();
    if (l === '' || /^package \S+ is not installed$/.test(l)) continue;
    if (!names.includes(l)) throw new ParseError('rpm -q output', `unexpected line ${JSON.stringify(line)}`, 'is this a RHEL-family host? (os_family in the inventory)');
    installed.add(l);
  }
  return installed;
}
