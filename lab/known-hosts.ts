// The host keys of the lab's hosts, pinned in the operator's known_hosts.
// Every line the lab adds ends with the marker comment, so `lab down` removes
// exactly those lines and nothing the operator had.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KNOWN_HOSTS_MARKER } from './topology.ts';

export interface HostKeys {
  /** Names the host is reached by: address, fqdn, short name. */
  readonly names: readonly string[];
  /** Public key lines as in ssh_host_*_key.pub: `type base64 [comment]`. */
  readonly keys: readonly string[];
}

function isLabLine(line: string): boolean {
  return line.trim().split(/\s+/).at(-1) === KNOWN_HOSTS_MARKER;
}

/** Pure: `text` without the lab's lines. */
export function withoutLabLines(text: string): string {
  const kept = text.split('\n').filter((line) => !isLabLine(line));
  const out = kept.join('\n');
  return out.trim() === '' ? '' : out.replace(/\n*$/, '\n');
}

/** Pure: one line per name and key, `name type base64 hvmctl-lab`. */
export function labLines(hosts: readonly HostKeys[]): string[] {
  const lines: string[] = [];
  for (const host of hosts) {
    for (const key of host.keys) {
      const [type, blob] = key.trim().split(/\s+/);
      if (!type || !blob) continue;
      for (const name of host.names) lines.push(`${name} ${type} ${blob} ${KNOWN_HOSTS_MARKER}`);
    }
  }
  return lines;
}

/** Pure: `text` with old lab lines replaced by the given ones. */
export function withLabLines(text: string, hosts: readonly HostKeys[]): string {
  return withoutLabLines(text) + labLines(hosts).map((l) => `${l}\n`).join('');
}

function rewrite(file: string, edit: (text: string) => string): void {
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const after = edit(before);
  if (after === before) return;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.hvmlab-${process.pid}`;
  writeFileSync(tmp, after, { mode: 0o600 });
  renameSync(tmp, file);
}

export function recordHostKeys(file: string, hosts: readonly HostKeys[]): void {
  rewrite(file, (text) => withLabLines(text, hosts));
}

export function forgetHostKeys(file: string): void {
  if (existsSync(file)) rewrite(file, withoutLabLines);
}
