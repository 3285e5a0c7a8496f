// Fact: whether an NFS export can be listed from this host with libnfs
// (`nfs-ls`, libnfs-utils): the check QEMU's own NFS client depends on.
import type { RunResult } from '../../src/connector/connector.ts';
import { sh } from '../../src/shell.ts';
import type { Fact } from '../engine/types.ts';
import { ABSENT } from './result.ts';
import { nfsUrl } from '../../src/nfs-url.ts';

export type NfsReachable =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string };

export function nfsReachable(address: string, exportPath: string): Fact<NfsReachable> {
  const url = nfsUrl(address, exportPath);
  return {
    key: `nfs-ls:${url}`,
    // Bounded: an unreachable server must not hang fact gathering.
    command: sh`command -v nfs-ls >/dev/null 2>&1 || exit ${ABSENT}; timeout 20 nfs-ls ${url} >/dev/null`,
    parse: (result: RunResult) => parseNfsLs(url, result),
  };
}

export function parseNfsLs(url: string, result: RunResult): NfsReachable {
  if (result.code === 0) return { ok: true };
  if (result.code === ABSENT) return { ok: false, reason: 'nfs-ls is not installed (package libnfs-utils / libnfs-utils)' };
  if (result.code === 124) return { ok: false, reason: `nfs-ls ${url} timed out after 20 s` };
  const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-2).join(' | ');
  return { ok: false, reason: `nfs-ls ${url} exited ${result.code}${said ? `: ${said}` : ''}` };
}
