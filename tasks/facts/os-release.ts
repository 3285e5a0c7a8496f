// Fact: the host's /etc/os-release (systemd's os-release(5); /usr/lib/os-release
// where /etc has none), with the OS family it names (src/os/detect.ts).
import type { RunResult } from '../../src/connector/connector.ts';
import type { OsFamily } from '../../src/inventory/types.ts';
import { familyOfOsRelease } from '../../src/os/detect.ts';
import type { Fact } from '../engine/types.ts';
import { ABSENT, unexpected } from './result.ts';

export interface OsRelease {
  /** ID=, lower case; undefined when the host has no os-release. */
  readonly id?: string;
  /** ID_LIKE=, in its order. */
  readonly idLike: readonly string[];
  /** VERSION_ID=, e.g. `12`, `24.04`, `9.4`. */
  readonly versionId?: string;
  /** The family ID or ID_LIKE names; undefined when hvmctl knows none of them. */
  readonly family?: OsFamily;
}

export const osRelease: Fact<OsRelease> = {
  key: 'os-release',
  command: `if [ -r /etc/os-release ]; then cat /etc/os-release; elif [ -r /usr/lib/os-release ]; then cat /usr/lib/os-release; else exit ${ABSENT}; fi`,
  parse: parseOsRelease,
};

/** `KEY=value` lines, values optionally in double or single quotes (os-release(5)). */
export function parseOsRelease(result: RunResult): OsRelease {
  if (result.code === ABSENT) return { idLike: [] };
  if (result.code !== 0) throw unexpected('/etc/os-release', result);
  const values = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    values.set(m[1] ?? '', unquote(m[2] ?? ''));
  }
  const id = values.get('ID')?.toLowerCase();
  const idLike = (values.get('ID_LIKE') ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const versionId = values.get('VERSION_ID');
  const family = familyOfOsRelease(id, idLike);
  return {
    ...(id === undefined || id === '' ? {} : { id }),
    idLike,
    ...(versionId === undefined ? {} : { versionId }),
    ...(family === undefined ? {} : { family }),
  };
}

function unquote(value: string): string {
  const m = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  return m ? (m[1] ?? '').replace(/\\(["\\$`])/g, '$1') : value;
}
