import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blobKeyType, entryMatches, fingerprint, hostKeyName, parseKnownHosts, pinnedAlgorithms, verifyHostKey } from '../../src/connector/known-hosts.ts';

// Real keys and real known_hosts lines from OpenSSH's own tools (plain, then
// hashed with `ssh-keygen -H`), made fresh for the test.
const dir = mkdtempSync(join(tmpdir(), 'hvmctl-kh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keypair(name: string, type = 'ed25519'): { blob: Buffer; line: string; fp: string } {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', join(dir, name)]);
  const pub = readFileSync(join(dir, `${name}.pub`), 'utf8').trim();
  const [t, b64] = pub.split(' ');
  const fp = execFileSync('ssh-keygen', ['-l', '-f', join(dir, `${name}.pub`)], { encoding: 'utf8' }).split(' ')[1] ?? '';
  return { blob: Buffer.from(b64 ?? '', 'base64'), line: `${t} ${b64}`, fp };
}

const a = keypair('a');
const b = keypair('b');
const r = keypair('r', 'rsa');

describe('known_hosts matching', () => {
  it('accepts the pinned key for a plain entry, by name and by [host]:port', () => {
    const entries = parseKnownHosts(`# comment\n\n172.21.3.10 ${a.line}\n[127.0.0.1]:2222,kvmnode2 ${b.line}\n`);
    expect(verifyHostKey(entries, [hostKeyName('172.21.3.10', 22)], a.blob)).toEqual({ ok: true, line: 3 });
    expect(verifyHostKey(entries, [hostKeyName('127.0.0.1', 2222)], b.blob)).toEqual({ ok: true, line: 4 });
    expect(verifyHostKey(entries, ['kvmnode2'], b.blob).ok).toBe(true);
    // port matters: the same address on 22 is a different name
    expect(verifyHostKey(entries, [hostKeyName('127.0.0.1', 22)], b.blob)).toMatchObject({ ok: false, reason: 'unknown' });
  });

  it('reports a mismatch with both fingerprints, in OpenSSH format', () => {
    const entries = parseKnownHosts(`172.21.3.10 ${a.line}\n`);
    const v = verifyHostKey(entries, ['172.21.3.10'], b.blob);
    expect(v).toEqual({ ok: false, reason: 'mismatch', fingerprint: b.fp, known: [`ssh-ed25519 ${a.fp} (line 1)`] });
    expect(fingerprint(a.blob)).toBe(a.fp);
  });

  it('matches hashed entries written by ssh-keygen -H', () => {
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `172.21.3.10 ${a.line}\n[127.0.0.1]:2222 ${b.line}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('172.21.3.10');
    expect(text.startsWith('|1|')).toBe(true);
    const entries = parseKnownHosts(text);
    expect(verifyHostKey(entries, ['172.21.3.10'], a.blob).ok).toBe(true);
    expect(verifyHostKey(entries, ['[127.0.0.1]:2222'], b.blob).ok).toBe(true);
    expect(verifyHostKey(entries, ['172.21.3.11'], a.blob)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(verifyHostKey(entries, ['172.21.3.10'], b.blob)).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('honours patterns, negations and @revoked; ignores @cert-authority lines for plain keys', () => {
    expect(entryMatches('kvmnode*,!kvmnode3', 'kvmnode1')).toBe(true);
    expect(entryMatches('kvmnode*,!kvmnode3', 'kvmnode3')).toBe(false);
    expect(entryMatches('172.21.3.?', '172.21.3.9')).toBe(true);
    expect(entryMatches('172.21.3.?', '172.21.3.19')).toBe(false);
    const entries = parseKnownHosts(`@revoked * ${a.line}\n172.21.3.10 ${a.line}\n@cert-authority * ${b.line}\n`);
    expect(verifyHostKey(entries, ['172.21.3.10'], a.blob)).toMatchObject({ ok: false, reason: 'revoked' });
    expect(verifyHostKey(entries, ['172.21.3.10'], b.blob)).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('offers only the pinned key types (rsa expands to its SHA-2 signatures)', () => {
    const entries = parseKnownHosts(`h ${a.line}\nh ${r.line}\nother ${b.line}\n`);
    expect(pinnedAlgorithms(entries, ['h'])).toEqual(['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(blobKeyType(a.blob)).toBe('ssh-ed25519');
    expect(pinnedAlgorithms(entries, ['nobody'])).toEqual([]);
    expect(pinnedAlgorithms(parseKnownHosts(`h ssh-dss AAAA\nh sk-ssh-ed25519@openssh.com AAAA\nh ${a.line}\n`), ['h'])).toEqual(['ssh-ed25519']);
  });
});
