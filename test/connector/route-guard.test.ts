import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { labRouteProblem, parseRouteGet } from '../../src/connector/route-guard.ts';

const fixture = (name: string) => readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', name), 'utf8');

describe('parseRouteGet (ip route get output captured on the dev machine)', () => {
  it.each([
    ['route-get-lab.txt', { dev: 'hvmlab0', via: undefined, type: undefined }],
    ['route-get-default.txt', { dev: 'eth0', via: '192.0.2.1', type: undefined }],
    ['route-get-10.txt', { dev: 'eth0', via: '192.0.2.1', type: undefined }],
    ['route-get-local.txt', { dev: 'lo', via: undefined, type: 'local' }],
    ['route-get-loopback.txt', { dev: 'lo', via: undefined, type: 'local' }],
  ])('%s', (file, want) => {
    expect(parseRouteGet(fixture(file))).toEqual(want);
  });
});

describe('labRouteProblem', () => {
  it('accepts only a direct route out of the lab bridge', () => {
    expect(labRouteProblem(parseRouteGet(fixture('route-get-lab.txt')))).toBeUndefined();
  });
  it.each([
    ['route-get-default.txt', "leaves through 'eth0'"],
    ['route-get-10.txt', "leaves through 'eth0'"],
    ['route-get-local.txt', "of type 'local'"],
  ])('refuses %s', (file, why) => {
    expect(labRouteProblem(parseRouteGet(fixture(file)))).toContain(why);
  });
  it('refuses a route through a gateway even on the bridge', () => {
    expect(labRouteProblem({ dev: 'hvmlab0', via: '172.21.3.1', type: undefined })).toContain('gateway');
  });
  it('refuses when nothing is parsed', () => {
    expect(labRouteProblem(parseRouteGet(''))).toContain("'nothing'");
  });
});
