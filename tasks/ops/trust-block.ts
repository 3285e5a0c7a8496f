// The hypervisors' block in root's authorized_keys. Trust used to be
// append-only, so a retired or reinstalled hypervisor kept root access to the
// others for ever. Now apply owns one block between two marker lines, and the
// block is exactly the current other hypervisors, one line each, every key
// limited with `from="<that hypervisor's address>"` (its cluster address:
// peers reach each other over the cluster network). Lines outside the block
// are never touched, with one exception: a line outside it that is exactly a
// current peer's cluster key (no options) is what hvmctl itself appended
// before the block existed; it is removed (the key is in the block,
// limited by from=), and plan says so. A peer whose key is unknown in this run
// (unreachable, failed) keeps its line in the block: it is still a hypervisor.
// Pure.
import type { HostSpec } from '../../src/inventory/types.ts';
import { textLines } from '../facts/file-text.ts';
import { keyOnLine, type PublicKey } from '../facts/ssh-keys.ts';
import { TaskCheckError } from './task-error.ts';

export const TRUST_BEGIN = '# BEGIN hvmctl: cluster hypervisors (apply rewrites the lines up to END)';
export const TRUST_END = '# END hvmctl: cluster hypervisors';

/** A current peer of this hypervisor: its address and, when known this run, its cluster key. */
export interface TrustedPeer {
  readonly peer: HostSpec;
  readonly key: PublicKey | undefined;
}

/** One block line: the key limited to the peer's address. */
export function trustLine(address: string, key: PublicKey): string {
  return `from="${address}" ${`${key.type} ${key.body} ${key.comment}`.trim()}`;
}

/** The address of a block line's `from="…"` option, if it has exactly one. */
function fromOf(line: string): string | undefined {
  return /^from="([^",*?!]+)" /.exec(line.trim())?.[1];
}

interface Split {
  readonly before: readonly string[];
  readonly block: readonly string[] | undefined;
  readonly after: readonly string[];
}

/** The file around the block, and the block's lines (undefined: no block yet). */
function splitBlock(lines: readonly string[], path: string): Split {
  const begin = lines.findIndex((l) => l.trim() === TRUST_BEGIN);
  const end = lines.findIndex((l) => l.trim() === TRUST_END);
  const begins = lines.filter((l) => l.trim() === TRUST_BEGIN).length;
  const ends = lines.filter((l) => l.trim() === TRUST_END).length;
  if (begins === 0 && ends === 0) return { before: lines, block: undefined, after: [] };
  const reversed = begins === 1 && ends === 1 && end < begin;
  if (begins !== 1 || ends !== 1 || reversed) {
    throw new TaskCheckError(
      'E_TRUST_BLOCK',
      `${path}: the hvmctl block is damaged (${begins} BEGIN and ${ends} END marker line(s)${reversed ? ', END before BEGIN' : ''})`,
      `edit ${path} so that it holds at most one pair of "${TRUST_BEGIN}" / "${TRUST_END}" lines, or remove both markers (apply then writes a new block)`,
    );
  }
  return { before: lines.slice(0, begin), block: lines.slice(begin + 1, end), after: lines.slice(end + 1) };
}

export interface TrustPlan {
  readonly text: string;
  /** Block lines added, and removed (retired or replaced keys, pre-block lines). */
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Peers whose key is unknown this run and whose existing line was kept. */
  readonly keptUnknown: readonly string[];
}

/** Pure: authorized_keys with the block holding exactly `peers`; undefined when it already does. */
export function authorizedKeysBlock(text: string | undefined, peers: readonly TrustedPeer[], path: string): TrustPlan | undefined {
  const { before, block, after } = splitBlock(textLines(text), path);
  const old = block ?? [];
  const keptUnknown: string[] = [];
  const wanted: string[] = [];
  for (const { peer, key } of peers) {
    if (key !== undefined) {
      wanted.push(trustLine(peer.address, key));
      continue;
    }
    const existing = old.filter((l) => fromOf(l) === peer.address);
    if (existing.length > 0) keptUnknown.push(peer.name);
    wanted.push(...existing);
  }
  const peerKeys = peers.flatMap((p) => (p.key ? [p.key] : []));
  const preBlock = (line: string) => {
    const k = keyOnLine(line);
    // Exactly what hvmctl appended: no options in front of the key.
    return k !== undefined && line.trim().startsWith(`${k.type} ${k.body}`) && peerKeys.some((p) => p.type === k.type && p.body === k.body);
  };
  const outside = [...before, ...after];
  const legacy = outside.filter(preBlock);
  const added = wanted.filter((l) => !old.includes(l));
  const removed = [...old.filter((l) => !wanted.includes(l)), ...legacy];
  if (block !== undefined && added.length === 0 && removed.length === 0 && old.length === wanted.length) return undefined;
  // No block yet and nothing to put in it (no peer's key known this run).
  if (block === undefined && wanted.length === 0 && legacy.length === 0) return undefined;
  const lines = [...before.filter((l) => !preBlock(l)), TRUST_BEGIN, ...wanted, TRUST_END, ...after.filter((l) => !preBlock(l))];
  return { text: `${lines.join('\n')}\n`, added, removed, keptUnknown };
}
