import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgetHostKeys, labLines, recordHostKeys, withLabLines, withoutLabLines } from '../../lab/known-hosts.ts';

const operator = '|1|abc= ssh-ed25519 AAAAoperator\nbuild.example ssh-rsa AAAArsa comment here\n';
const keys = [
  { names: ['172.21.3.10', 'kvmnode1.localdomain', 'kvmnode1'], keys: ['ssh-ed25519 AAAAkey1 root@kvmnode1', 'ecdsa-sha2-nistp256 AAAAkey2 root@kvmnode1'] },
];

describe('known_hosts editing', () => {
  it('writes one marked line per name and key, without the key comment', () => {
    expect(labLines(keys)).toEqual([
      '172.21.3.10 ssh-ed25519 AAAAkey1 hvmctl-lab',
      'kvmnode1.localdomain ssh-ed25519 AAAAkey1 hvmctl-lab',
      'kvmnode1 ssh-ed25519 AAAAkey1 hvmctl-lab',
      '172.21.3.10 ecdsa-sha2-nistp256 AAAAkey2 hvmctl-lab',
      'kvmnode1.localdomain ecdsa-sha2-nistp256 AAAAkey2 hvmctl-lab',
      'kvmnode1 ecdsa-sha2-nistp256 AAAAkey2 hvmctl-lab',
    ]);
  });
  it('keeps the operator lines and replaces old lab lines', () => {
    const once = withLabLines(operator, keys);
    expect(once.startsWith(operator)).toBe(true);
    const again = withLabLines(once, [{ names: ['kvmnode1'], keys: ['ssh-ed25519 AAAAnew'] }]);
    expect(again).toBe(`${operator}kvmnode1 ssh-ed25519 AAAAnew hvmctl-lab\n`);
  });
  it('removes exactly the lab lines', () => {
    expect(withoutLabLines(withLabLines(operator, keys))).toBe(operator);
    expect(withoutLabLines(labLines(keys).join('\n'))).toBe('');
    // A host comment that merely contains the marker text is not ours.
    expect(withoutLabLines('h ssh-ed25519 AAAA hvmctl-lab-not\n')).toBe('h ssh-ed25519 AAAA hvmctl-lab-not\n');
  });
  it('records and forgets in a file', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kh-')), 'sub', 'known_hosts');
    recordHostKeys(file, keys);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(6);
    writeFileSync(file, operator + readFileSync(file, 'utf8'));
    forgetHostKeys(file);
    expect(readFileSync(file, 'utf8')).toBe(operator);
  });
});
