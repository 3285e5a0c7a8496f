// Fact: the version of the host's NetworkManager (the daemon's, which reads
// the keyfiles; nmcli's where the daemon's binary is not on PATH), undefined
// when neither is installed.
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import type { NmVersion } from '../../src/render/network-files.ts';
import type { Fact } from '../engine/types.ts';
import { ABSENT, unexpected } from './result.ts';

export interface NetworkManagerVersion extends NmVersion {
  readonly text: string;
}

export const networkManagerVersion: Fact<NetworkManagerVersion | undefined> = {
  key: 'networkmanager-version',
  command: `if command -v NetworkManager >/dev/null 2>&1; then NetworkManager --version; elif command -v nmcli >/dev/null 2>&1; then nmcli --version; else exit ${ABSENT}; fi`,
  parse: parseNetworkManagerVersion,
};

/** `1.42.4` (NetworkManager --version), `nmcli tool, version 1.46.0` (nmcli --version); distribution suffixes kept in `text`. */
export function parseNetworkManagerVersion(result: RunResult): NetworkManagerVersion | undefined {
  if (result.code === ABSENT) return undefined;
  if (result.code !== 0) throw unexpected('NetworkManager --version', result, 'is NetworkManager installed whole? (dnf reinstall NetworkManager, apt-get install --reinstall network-manager)');
  const m = /(?:^|version )(\d+)\.(\d+)(?:\.\d+)?\S*\s*$/.exec(result.stdout.trim());
  if (!m) throw new ParseError('NetworkManager --version', `unexpected output ${JSON.stringify(result.stdout.trim())}`);
  return { text: result.stdout.trim().replace(/^nmcli tool, version /, ''), major: Number(m[1]), minor: Number(m[2]) };
}
