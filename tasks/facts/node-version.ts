// Fact: the Node.js runtime's version, undefined when `node` is not installed.
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import type { Fact } from '../engine/types.ts';
import { ABSENT, unexpected } from './result.ts';

export interface NodeVersion {
  readonly text: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

export const nodeVersion: Fact<NodeVersion | undefined> = {
  key: 'node-version',
  command: `command -v node >/dev/null 2>&1 || exit ${ABSENT}; node --version`,
  parse: parseNodeVersion,
};

export function parseNodeVersion(result: RunResult): NodeVersion | undefined {
  if (result.code === ABSENT) return undefined;
  if (result.code !== 0) throw unexpected('node --version', result, 'the installed node does not run; reinstall the nodejs package');
  const text = result.stdout.trim();
  const m = /^v(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!m) throw new ParseError('node --version', `unexpected output ${JSON.stringify(text)}`);
  return { text, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}
