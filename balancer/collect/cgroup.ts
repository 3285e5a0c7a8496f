// A cgroup (v1) as the CPU source: cpuacct.usage (ns of CPU used by the group)
// and the group's CFS quota, which caps how many CPUs it may use. The lab puts
// each host in a cgroup, so "host CPU %" means that host, not the machine.
import { ParseError } from '../../src/errors.ts';

export function parseCpuacctUsage(text: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new ParseError('cpuacct.usage', `"${t.slice(0, 40)}" is not a count of ns`);
  return Number(t);
}

/** CPUs the group may use: quota/period, or `onlineCpus` when there is no quota (-1). */
export function cgroupCpuLimit(quotaText: string | undefined, periodText: string | undefined, onlineCpus: number): number {
  if (quotaText === undefined || periodText === undefined) return onlineCpus;
  const quota = Number(quotaText.trim());
  const period = Number(periodText.trim());
  if (!Number.isFinite(quota) || !Number.isFinite(period)) {
    throw new ParseError('cpu.cfs_quota_us', `quota "${quotaText.trim()}" / period "${periodText.trim()}"`);
  }
  if (quota <= 0 || period <= 0) return onlineCpus;
  return Math.min(onlineCpus, quota / period);
}

/** `/sys/devices/system/cpu/online`, e.g. `0-1` or `0,2-5`. */
export function parseCpuList(text: string): number {
  const t = text.trim();
  if (t === '') throw new ParseError('cpu list', 'empty');
  let n = 0;
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new ParseError('cpu list', `"${part}" in "${t}"`);
    n += m[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
  }
  return n;
}

/** The cpu hierarchy's directory matching a cpuacct one (v1 may mount them apart). */
export function cpuDirFor(cpuacctDir: string): string {
  return cpuacctDir.replace(/\/cpuacct(?=\/|$)/, '/cpu');
}
