// /proc/stat: the aggregate `cpu` line (jiffies per state since boot) and the
// number of `cpuN` lines. Two reads over a window give the host's utilisation.
import { ParseError } from '../../src/errors.ts';

export interface ProcStat {
  /** Jiffies spent not idle (user nice system irq softirq steal). */
  readonly busy: number;
  /** All jiffies (busy + idle + iowait); guest/guest_nice are already in user/nice. */
  readonly total: number;
  /** Online CPUs (cpuN lines). */
  readonly cpus: number;
}

export function parseProcStat(text: string): ProcStat {
  let aggregate: number[] | undefined;
  let cpus = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      aggregate = line.trim().split(/\s+/).slice(1).map(Number);
    } else if (/^cpu\d+ /.test(line)) {
      cpus += 1;
    }
  }
  if (!aggregate) throw new ParseError('/proc/stat', 'no aggregate "cpu " line', 'is this Linux /proc/stat output?');
  if (aggregate.length < 4 || aggregate.some((n) => !Number.isFinite(n))) {
    throw new ParseError('/proc/stat', `bad "cpu " line: ${aggregate.join(' ')}`);
  }
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = aggregate;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait, cpus: Math.max(cpus, 1) };
}

/** Utilisation 0..1 of the whole host between two reads. */
export function procStatUtilisation(before: ProcStat, after: ProcStat): number {
  const total = after.total - before.total;
  if (total <= 0) return 0;
  return clamp01((after.busy - before.busy) / total);
}

export function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
