// Fact: the groups a user is in (`id -nG`), or undefined when there is no
// such user yet (its package is not installed).
import type { RunResult } from '../../src/connector/connector.ts';
import { sh } from '../../src/shell.ts';
import type { Fact } from '../engine/types.ts';

export function userGroups(user: string): Fact<readonly string[] | undefined> {
  return {
    key: `groups:${user}`,
    command: sh`id -nG ${user} 2>/dev/null || echo no-such-user`,
    parse: parseUserGroups,
  };
}

export function parseUserGroups(result: RunResult): readonly string[] | undefined {
  const out = result.stdout.trim();
  if (out === 'no-such-user') return undefined;
  return out.split(/\s+/).filter(Boolean);
}
