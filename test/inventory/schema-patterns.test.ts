// Every pattern in the inventory schema runs in linear time: ajv runs them
// with JavaScript's backtracking engine, and `^/([A-Za-z0-9._+@-]+/?)*$`
// (absPath until issue 10) took 19 s on "/" + 28 characters + "!". The check
// is structural (no nested quantifier without a delimiter,
// test/support/regex-safety.ts); the behaviour tables below use short inputs.
import { describe, expect, it } from 'vitest';
import { inventorySchema } from '../../src/inventory/load.ts';
import { nestedQuantifiers } from '../support/regex-safety.ts';

function patterns(node: unknown, where: string, out: [string, string][] = []): [string, string][] {
  if (node === null || typeof node !== 'object') return out;
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (k === 'pattern' && typeof v === 'string') out.push([where, v]);
    else patterns(v, `${where}/${k}`, out);
  }
  return out;
}

const all = patterns(inventorySchema, '#');

describe('schema patterns', () => {
  it('there are patterns to check', () => {
    expect(all.length).toBeGreaterThanOrEqual(12);
  });

  it.each(all)('%s: %s has no nested quantifier that can backtrack catastrophically', (_where, pattern) => {
    expect(nestedQuantifiers(pattern)).toEqual([]);
  });

  it.each([
    // the patterns issue 10 found, and the classic ones
    ['^/([A-Za-z0-9._+@-]+/?)*$', 1],
    ['^(~|/)(/?[A-Za-z0-9._+@-]+)*$', 1],
    ['^(a+)+$', 1],
    ['^(a|b*)*$', 1],
    ['^([a-z]+[0-9]*)*$', 1],
    // delimited or flat: fine
    ['^/[A-Za-z0-9._+@/-]*$', 0],
    ['^[a-z]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z]([a-z0-9-]{0,61}[a-z0-9])?)*$', 0],
    ['^(@[a-z]+|[0-9*/,-]+([ \\t]+[0-9*/,-]+){4})$', 0],
    ['^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$', 0],
  ])('the checker itself: %s -> %i finding(s)', (pattern, count) => {
    expect(nestedQuantifiers(pattern)).toHaveLength(count);
  });
});

const schemaPattern = (definition: string) => new RegExp((inventorySchema.definitions as unknown as Record<string, { pattern: string }>)[definition]!.pattern, 'u');

describe('what the rewritten patterns accept', () => {
  it.each([
    ['absPath', '/srv/kvmshared', true],
    ['absPath', '/var/lib/libvirt/images/kvmshared', true],
    ['absPath', `/${'a'.repeat(28)}!`, false], // issue 10's input, shortened: refused
    ['absPath', 'srv/kvmshared', false],
    ['absPath', '/srv/kvm shared', false],
    ['homePath', '~/.ssh/id_ed25519', true],
    ['homePath', '~', true],
    ['homePath', '/root/.ssh/known_hosts', true],
    ['homePath', '~user/.ssh', false],
    ['homePath', `~/${'a'.repeat(28)}!`, false],
    ['cronSchedule', '* * * * *', true],
    ['cronSchedule', '0,30\t8-18 * * 1-5', true],
    ['cronSchedule', '@daily', true],
    ['cronSchedule', '* * * *', false],
    ['cronSchedule', '* * * * * *', false],
    ['cronSchedule', '* * * * *\n', false],
    ['cronSchedule', '* * * * * root rm -rf /', false],
    ['cronSchedule', ` ${' '.repeat(30)}!`, false],
  ])('%s %j -> %s', (definition, input, accepted) => {
    expect(schemaPattern(definition).test(input)).toBe(accepted);
  });
});
