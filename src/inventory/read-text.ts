// Reads the inventory file's bytes, refusing what is not an inventory before
// reading it: a FIFO, a device, a socket or a directory given as -i (reading
// a FIFO with no writer waits forever; /dev/zero never ends), and a file
// larger than an inventory can sensibly be (an inventory of a few hundred
// hosts is tens of kilobytes). The file is opened non-blocking and checked
// with fstat on that same descriptor, so nothing can be swapped in between.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** Largest inventory accepted, in bytes. */
export const MAX_INVENTORY_BYTES = 1024 * 1024;

export type ReadProblem = { readonly problem: string; readonly hint?: string; readonly cause?: unknown };

function kindOf(stat: import('node:fs').Stats): string {
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/** The file's text, or why it is not read. */
export async function readInventoryText(file: string, maxBytes = MAX_INVENTORY_BYTES): Promise<{ text: string } | ReadProblem> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      problem: `cannot read the inventory (${code ?? String(error)})`,
      hint:
        code === 'ENOENT'
          ? 'pass the inventory with -i FILE, or run from the directory that holds inventory.yaml'
          : code === 'EACCES' || code === 'EPERM'
            ? 'this user may not read the file: run as its owner (or root), or make it readable to you'
            : code === 'EISDIR'
              ? 'that is a directory: pass the inventory file itself with -i FILE'
              : undefined,
      cause: error,
    };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      return { problem: `the inventory is ${kindOf(stat)}, not a file; nothing was read from it`, hint: 'pass a YAML file with -i FILE' };
    }
    if (stat.size > maxBytes) {
      return { problem: `the inventory is ${stat.size} bytes; at most ${maxBytes} are read`, hint: 'an inventory is one YAML file of tens of kilobytes; is -i pointing at the right file?' };
    }
    // Read one byte more than allowed: a file that grew since fstat is refused too.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) return { problem: `the inventory is larger than ${maxBytes} bytes; at most ${maxBytes} are read`, hint: 'an inventory is one YAML file of tens of kilobytes' };
    }
    return { text: buffer.subarray(0, length).toString('utf8') };
  } finally {
    await handle.close();
  }
}
