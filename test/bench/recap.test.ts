// bench/recap.ts on output captured from real runs on the lab.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAnsibleRecap, parseHvmctlRecap } from '../../bench/recap.ts';

const fixture = (name: string) => readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', name), 'utf8');

describe('bench recap parsing', () => {
  it('reads a no-change hvmctl apply', () => {
    expect(parseHvmctlRecap(fixture('hvmctl-apply-nochange.txt'))).toEqual({ hosts: 4, ok: 42, changed: 0, failed: 0, unreachable: 0 });
  });
  it('counts what hvmctl apply --check would change', () => {
    expect(parseHvmctlRecap(fixture('hvmctl-apply-check-changed.txt'))).toEqual({ hosts: 4, ok: 41, changed: 1, failed: 0, unreachable: 0 });
  });
  it('reads the PLAY RECAP of ansible-playbook', () => {
    expect(parseAnsibleRecap(fixture('ansible-playbook-changed.txt'))).toEqual({ hosts: 4, ok: 51, changed: 9, failed: 0, unreachable: 0 });
  });
  it('finds no hosts where there is no recap (a run that matched nothing must not pass as no-change)', () => {
    expect(parseAnsibleRecap('PLAY [x] ***\nskipping: no hosts matched\n')).toEqual({ hosts: 0, ok: 0, changed: 0, failed: 0, unreachable: 0 });
    expect(parseHvmctlRecap(fixture('ansible-playbook-changed.txt')).hosts).toBe(0);
  });
});
