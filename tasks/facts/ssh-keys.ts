// Facts for SSH trust between hypervisors: a public key file (the cluster key
// pair's public half, a host key), parsed into its type and base64 body.
// Private keys are never read: apply only tests whether they exist
// (`pathExists`, tasks/facts/path-stat.ts).
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import { sh } from '../../src/shell.ts';
import type { Fact } from '../engine/types.ts';
import { ABSENT, unexpected } from './result.ts';

export interface PublicKey {
  readonly type: string;
  /** Base64 body: what identifies the key. */
  readonly body: string;
  readonly comment: string;
}

const KEY_TYPE = /^(ssh-ed25519|ssh-rsa|ssh-dss|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

/** `/root/.ssh/id_<type>` for the cluster key pair. */
export function clusterKeyPath(type: string): string {
  return `/root/.ssh/id_${type}`;
}

/** `/etc/ssh/ssh_host_<type>_key.pub`. */
export function hostKeyPath(type: string): string {
  return `/etc/ssh/ssh_host_${type}_key.pub`;
}

/** A public key file, or undefined when it does not exist. Key `pubkey:<path>`. */
export function publicKeyFile(path: string): Fact<PublicKey | undefined> {
  return {
    key: `pubkey:${path}`,
    command: sh`if [ -f ${path} ]; then cat -- ${path}; else exit ${ABSENT}; fi`,
    parse: (result: RunResult) => {
      if (result.code === ABSENT) return undefined;
      if (result.code !== 0) throw unexpected(path, result);
      const line = result.stdout.split('\n').find((l) => l.trim() !== '');
      if (line === undefined) throw new ParseError(path, 'the file is empty', `remove ${path} and its private key so apply makes a new pair`);
      return parsePublicKey(line, path);
    },
  };
}

/** One `type base64 [comment]` line (authorized_keys without options, .pub files). */
export function parsePublicKey(line: string, what = 'public key'): PublicKey {
  const fields = line.trim().split(/\s+/);
  const [type, body] = fields;
  if (type === undefined || !KEY_TYPE.test(type) || body === undefined || !/^[A-Za-z0-9+/]+={0,3}$/.test(body)) {
    throw new ParseError(what, `not an OpenSSH public key line: ${JSON.stringify(line.slice(0, 60))}`);
  }
  return { type, body, comment: fields.slice(2).join(' ') };
}

/**
 * The key (type and body) on an authorized_keys or known_hosts line, skipping
 * options or host patterns in front; undefined for comments and blank lines.
 */
export function keyOnLine(line: string): { type: string; body: string } | undefined {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const fields = trimmed.split(/\s+/);
  for (let i = 0; i + 1 < fields.length; i += 1) {
    const type = fields[i] ?? '';
    const body = fields[i + 1] ?? '';
    if (KEY_TYPE.test(type) && /^[A-Za-z0-9+/]+={0,3}$/.test(body)) return { type, body };
  }
  return undefined;
}
