// The NetworkManager version fact. Not captured here (installing
// network-manager would take over this machine's network): the two output
// forms are NetworkManager's `--version` (the bare version, e.g. Debian 12's
// 1.42.4) and nmcli's `--version` ("nmcli tool, version X").
import { describe, expect, it } from 'vitest';
import { parseNetworkManagerVersion } from '../../tasks/facts/network-manager.ts';
import { ABSENT } from '../../tasks/facts/result.ts';
import { ok } from './captured.ts';

describe('NetworkManager version fact', () => {
  it.each([
    ['1.42.4\n', { text: '1.42.4', major: 1, minor: 42 }],
    ['1.46.0-26.el9_4\n', { text: '1.46.0-26.el9_4', major: 1, minor: 46 }],
    ['nmcli tool, version 1.52.0\n', { text: '1.52.0', major: 1, minor: 52 }],
  ])('%j', (stdout, expected) => {
    expect(parseNetworkManagerVersion(ok(stdout))).toEqual(expected);
  });

  it('absent is undefined; a binary that does not run, or says something else, is an error', () => {
    expect(parseNetworkManagerVersion({ code: ABSENT, stdout: '', stderr: '' })).toBeUndefined();
    expect(() => parseNetworkManagerVersion({ code: 127, stdout: '', stderr: 'error while loading shared libraries' })).toThrow(/shared libraries/);
    expect(() => parseNetworkManagerVersion(ok('hello\n'))).toThrow(/unexpected output/);
  });
});
