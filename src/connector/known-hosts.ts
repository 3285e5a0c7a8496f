// Host key pinning against an OpenSSH known_hosts file, as pure functions:
// parse the file, find the entries for `host` / `[host]:port` (plain names,
// `*`/`?` patterns, `!` negations and hashed `|1|salt|hash` entries), and
// decide whether the key a server presented is the pinned one. The SSH
// connector refuses any key this module does not accept; there is no switch
// to turn the check off.
import { createHash, createHmac } from 'node:crypto';

export interface KnownHostEntry {
  readonly line: number;
  readonly marker?: '@revoked' | '@cert-authority';
  /** The host field as written (comma-separated patterns, or one hashed name). */
  readonly hosts: string;
  readonly keyType: string;
  readonly key: Buffer;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostEntry['marker'];
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64) return; // OpenSSH skips malformed lines too
    entries.push({ line: i + 1, ...(marker ? { marker } : {}), hosts, keyType, key: Buffer.from(b64, 'base64') });
  });
  return entries;
}

/** The name known_hosts uses for host:port: `host` on 22, `[host]:port` otherwise. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function glob(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

/** Whether an entry's host field names `name` (already in `hostKeyName` form). */
export function entryMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern.startsWith('!')) {
      if (glob(pattern.slice(1), name)) return false;
    } else if (glob(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** OpenSSH-style fingerprint: `SHA256:` + unpadded base64 of the key blob's SHA-256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written inside an SSH public key blob (`ssh-ed25519`, ...). */
export function blobKeyType(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const len = key.readUInt32BE(0);
  if (len <= 0 || len > 64 || key.length < 4 + len) return undefined;
  return key.subarray(4, 4 + len).toString('latin1');
}

export type HostKeyVerdict =
  | { readonly ok: true; readonly line: number }
  | { readonly ok: false; readonly reason: 'unknown' | 'mismatch' | 'revoked'; readonly fingerprint: string; readonly known: readonly string[] };

/** Accept `presented` only when a non-revoked entry for one of `names` holds exactly that key. */
export function verifyHostKey(entries: readonly KnownHostEntry[], names: readonly string[], presented: Buffer): HostKeyVerdict {
  const fp = fingerprint(presented);
  const revoked = entries.some((e) => e.marker === '@revoked' && e.key.equals(presented));
  if (revoked) return { ok: false, reason: 'revoked', fingerprint: fp, known: [] };
  const mine = entries.filter((e) => e.marker === undefined && names.some((n) => entryMatches(e.hosts, n)));
  const hit = mine.find((e) => e.key.equals(presented));
  if (hit) return { ok: true, line: hit.line };
  return {
    ok: false,
    reason: mine.length === 0 ? 'unknown' : 'mismatch',
    fingerprint: fp,
    known: mine.map((e) => `${e.keyType} ${fingerprint(e.key)} (line ${e.line})`),
  };
}

/** Host key types the SSH client (ssh2) can verify. */
const SUPPORTED = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa']);

/**
 * Host key algorithms to offer so the server presents a key type we have
 * pinned (types the client cannot verify, e.g. security-key or DSA, are left
 * out; they never match anyway).
 */
export function pinnedAlgorithms(entries: readonly KnownHostEntry[], names: readonly string[]): string[] {
  const types = new Set(entries.filter((e) => e.marker === undefined && names.some((n) => entryMatches(e.hosts, n))).map((e) => e.keyType));
  const out: string[] = [];
  for (const t of types) {
    if (!SUPPORTED.has(t)) continue;
    if (t === 'ssh-rsa') out.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else out.push(t);
  }
  return out;
}
