// /etc/fstab on a hypervisor. One task owns every line apply writes there, so
// two changes in one apply never write the file from the same read (facts are
// read once per stage): the second would put back what the first removed.
//   - The images (mount.ts): with nfs.client kernel, the export on nfs.mount
//     (a line for the same mount point is replaced, duplicates removed); with
//     qemu, a line an earlier kernel-client apply wrote is removed.
//   - The lockspace (disk-locks.ts): with nfs.locks.mount, EXPORT/.hvmctl-lockd
//     on nfs.locks.dir; any other lockspace line apply wrote (an earlier
//     nfs.locks.dir, or every one once nfs.locks.mount is false) is removed.
// The rest of the file is the host's, line for line. A removed line's mount
// stays mounted until it is unmounted or the host restarts (guests may be
// using it); it is just not mounted again at boot.
import { isHypervisor, type Inventory } from '../../src/inventory/types.ts';
import { fstabLine } from '../../src/render/managed-files.ts';
import type { Task, TaskResult } from '../engine/types.ts';
import { fileText, textLines } from '../facts/file-text.ts';
import { isLockspaceLine, lockspaceFstabLine } from './disk-locks.ts';
import { writeScript } from './file.ts';
import { fstabWith, fstabWithout, isImagesLine, mountPointOf } from './mount.ts';

const FSTAB = '/etc/fstab';

/** One part of the file: its text after (undefined: unchanged), what changed, or why nothing did. */
interface Part {
  readonly next: string | undefined;
  readonly summary: string;
  readonly reason: string;
  readonly removes: boolean;
}

function imagesPart(inv: Inventory, text: string | undefined): Part {
  const mp = inv.nfs.mount;
  if (inv.nfs.client === 'kernel') {
    const wanted = fstabLine(inv);
    const had = textLines(text).some((l) => mountPointOf(l) === mountPointOf(wanted));
    return { next: fstabWith(text, wanted), summary: had ? `replace the ${FSTAB} line for ${mp}` : `add ${mp} to ${FSTAB}`, reason: `the line for ${mp}`, removes: false };
  }
  return {
    next: fstabWithout(text, (l) => isImagesLine(inv, l)),
    summary: `remove the ${FSTAB} line for ${mp} (nfs.client is qemu: QEMU opens the images itself)`,
    reason: `no line for ${mp} (nfs.client is qemu)`,
    removes: true,
  };
}

function lockspacePart(inv: Inventory, text: string | undefined): Part {
  const dir = inv.nfs.locks.dir;
  const wanted = inv.nfs.locks.mount ? lockspaceFstabLine(inv) : undefined;
  const at = wanted === undefined ? undefined : mountPointOf(wanted);
  const stale = (l: string): boolean => isLockspaceLine(l) && (at === undefined || mountPointOf(l) !== at);
  const where = [...new Set(textLines(text).filter(stale).map(mountPointOf))].join(', ');
  const cleaned = fstabWithout(text, stale);
  const why = wanted === undefined ? 'nfs.locks.mount is false' : 'an earlier nfs.locks.dir';
  const removal = cleaned === undefined ? [] : [`remove the ${FSTAB} lockspace line for ${where} (${why})`];
  if (wanted === undefined) return { next: cleaned, summary: removal.join(''), reason: 'no lockspace line (nfs.locks.mount is false)', removes: true };
  const had = textLines(cleaned ?? text).some((l) => mountPointOf(l) === at);
  const withLine = fstabWith(cleaned ?? text, wanted);
  const next = withLine ?? cleaned;
  const placed = withLine === undefined ? [] : [had ? `replace the ${FSTAB} line for the lockspace ${dir}` : `add the lockspace ${dir} to ${FSTAB}`];
  return { next, summary: [...placed, ...removal].join('; '), reason: `the lockspace line for ${dir}`, removes: removal.length > 0 };
}

/** Pure: /etc/fstab as the inventory wants it, as one change (or none). */
export function planFstabEntries(inv: Inventory, text: string | undefined): TaskResult {
  const images = imagesPart(inv, text);
  const lockspace = lockspacePart(inv, images.next ?? text);
  const next = lockspace.next ?? images.next;
  if (next === undefined) return { changes: [], reason: `${FSTAB}: ${images.reason}; ${lockspace.reason}` };
  const parts = [images, lockspace].filter((p) => p.next !== undefined);
  const before = textLines(text);
  const after = textLines(next);
  const note = parts.some((p) => p.removes) ? ' (a removed line\'s mount stays mounted until it is unmounted or the host restarts)' : '';
  return {
    changes: [
      {
        summary: `${parts.map((p) => p.summary).join('; ')}${note}`,
        commands: [
          {
            script: writeScript({ path: FSTAB, content: next, mode: 0o644, owner: 'root', group: 'root', notify: [], tags: ['nfs'], template: 'tasks/ops/fstab.ts (planFstabEntries)' }),
            input: next,
          },
        ],
        diff: [...before.filter((l) => !after.includes(l)).map((l) => `-${l}\n`), ...after.filter((l) => !before.includes(l)).map((l) => `+${l}\n`)].join(''),
      },
    ],
    reason: '',
  };
}

export const fstabTask: Task<{ fstab: string | undefined }> = {
  name: 'fstab entries',
  tags: ['nfs', 'locks', 'mount'],
  stage: 'hypervisor',
  // every hypervisor: a line the inventory no longer wants goes too
  applies: isHypervisor,
  facts: () => ({ fstab: fileText(FSTAB) }),
  plan: (ctx, facts) => planFstabEntries(ctx.inventory, facts.fstab),
};
