// /proc/meminfo: MemTotal and MemAvailable (KiB). MemAvailable is the kernel's
// estimate of what can be given out without swapping (cache counted as free),
// which is what the seed meant by "used minus buffers/cache".
import { ParseError } from '../../src/errors.ts';

export interface Meminfo {
  readonly totalKiB: number;
  readonly availableKiB: number;
}

export function parseMeminfo(text: string): Meminfo {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) values.set(m[1]!, Number(m[2]));
  }
  const totalKiB = values.get('MemTotal');
  const availableKiB = values.get('MemAvailable');
  if (totalKiB === undefined || availableKiB === undefined) {
    throw new ParseError('/proc/meminfo', 'MemTotal or MemAvailable missing', 'needs Linux 3.14 or later (MemAvailable)');
  }
  return { totalKiB, availableKiB };
}
