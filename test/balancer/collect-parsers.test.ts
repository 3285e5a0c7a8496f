import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cgroupCpuLimit, cpuDirFor, parseCpuacctUsage, parseCpuList } from '../../balancer/collect/cgroup.ts';
import { isActive, parseDomstats } from '../../balancer/collect/domstats.ts';
import { parseMeminfo } from '../../balancer/collect/meminfo.ts';
import { parseProcStat, procStatUtilisation } from '../../balancer/collect/proc-stat.ts';
import { parseVirshList } from '../../balancer/collect/virsh-list.ts';
import { formatVmMetadata, parseVmMetadata } from '../../balancer/collect/vm-metadata.ts';
import { splitHeadOutput } from '../../balancer/host-files.ts';
import { ParseError } from '../../src/errors.ts';

// Fixtures captured on this machine by test/fixtures/captured-balancer/capture.sh
const fixture = (name: string): string => readFileSync(new URL(`../fixtures/captured-balancer/${name}`, import.meta.url), 'utf8');

describe('parseProcStat', () => {
  it('reads the aggregate cpu line and counts the CPUs', () => {
    const s = parseProcStat(fixture('proc-stat-1.txt'));
    // cpu  6117 0 4114 714162 413 0 71 19 0 0
    expect(s).toEqual({ busy: 6117 + 4114 + 71 + 19, total: 6117 + 4114 + 71 + 19 + 714162 + 413, cpus: 2 });
  });
  it('gives the utilisation between two reads (one of two cores busy with a guest)', () => {
    const u = procStatUtilisation(parseProcStat(fixture('proc-stat-1.txt')), parseProcStat(fixture('proc-stat-2.txt')));
    // busy +409 jiffies of +410 total
    expect(u).toBeCloseTo(409 / 410, 5);
  });
  it('rejects text without a cpu line', () => {
    expect(() => parseProcStat(fixture('proc-meminfo.txt'))).toThrow(ParseError);
  });
  it('returns 0 for a zero-length window', () => {
    const s = parseProcStat(fixture('proc-stat-1.txt'));
    expect(procStatUtilisation(s, s)).toBe(0);
  });
});

describe('parseMeminfo', () => {
  it('reads MemTotal and MemAvailable in KiB', () => {
    const m = parseMeminfo(fixture('proc-meminfo.txt'));
    const total = Number(/MemTotal:\s+(\d+)/.exec(fixture('proc-meminfo.txt'))![1]);
    expect(m.totalKiB).toBe(total);
    expect(m.availableKiB).toBeGreaterThan(0);
    expect(m.availableKiB).toBeLessThanOrEqual(m.totalKiB);
  });
  it('rejects text without MemAvailable', () => {
    expect(() => parseMeminfo('MemTotal: 100 kB\n')).toThrow(/MemAvailable/);
  });
});

describe('parseDomstats', () => {
  it('reads state, cpu.time and balloon of every domain', () => {
    const d = parseDomstats(fixture('virsh-domstats-1.txt'));
    expect(d.map((x) => x.name)).toEqual(['capoff', 'capbusy', 'capidle']);
    expect(d[1]).toEqual({ name: 'capbusy', state: 1, reason: 1, cpuTimeNs: 2165441000, balloonCurrentKiB: 32768, balloonMaximumKiB: 32768 });
    expect(d[0]!.state).toBe(5);
    expect(isActive(d[0]!.state)).toBe(false);
    expect(isActive(d[1]!.state)).toBe(true);
  });
  it('gives a busy guest ~one core over the capture window', () => {
    const a = parseDomstats(fixture('virsh-domstats-1.txt')).find((x) => x.name === 'capbusy')!;
    const b = parseDomstats(fixture('virsh-domstats-2.txt')).find((x) => x.name === 'capbusy')!;
    expect(b.cpuTimeNs! - a.cpuTimeNs!).toBeGreaterThan(1.5e9); // 2 s window
  });
  it('reads a paused domain with only state fields', () => {
    expect(parseDomstats(fixture('virsh-domstats-paused.txt'))).toEqual([
      { name: 'capidle', state: 3, reason: 1, cpuTimeNs: undefined, balloonCurrentKiB: undefined, balloonMaximumKiB: undefined },
    ]);
  });
  it('reads the state reason that tells an incoming copy (paused for the migration) from one paused by a user', () => {
    const d = parseDomstats(readFileSync(new URL('../fixtures/captured/migration/domstats-destination-incoming.txt', import.meta.url), 'utf8'));
    expect(d.map((x) => [x.name, x.state, x.reason])).toEqual([['server2', 3, 2], ['server1', 1, 2]]);
  });
  it('reads empty output as no domains', () => {
    expect(parseDomstats('\n')).toEqual([]);
  });
  it('names the line it cannot read', () => {
    expect(() => parseDomstats(fixture('virsh-list-all-table.txt'))).toThrow(/line 1/);
  });
});

describe('parseVirshList', () => {
  it('reads --name output', () => {
    expect(parseVirshList(fixture('virsh-list-all-name.txt'))).toEqual(['capbusy', 'capidle', 'capoff']);
    expect(parseVirshList(fixture('virsh-list-name.txt'))).toEqual(['capbusy', 'capidle']);
  });
  it('refuses the table form', () => {
    expect(() => parseVirshList(fixture('virsh-list-all-table.txt'))).toThrow(/--name/);
  });
});

describe('vm metadata', () => {
  it('reads what virsh metadata printed', () => {
    expect(parseVmMetadata(fixture('virsh-metadata.txt'))).toEqual({ home: 'kvmnode1', moved: 1700000000, reason: 'kvmnode1 at 93 %' });
  });
  it('reads the lab-defined form and the form after `metadata --set` (captured)', () => {
    expect(parseVmMetadata(fixture('virsh-metadata-lab-defined.txt'))).toEqual({ home: 'kvmnode1', moved: undefined, reason: undefined });
    expect(parseVmMetadata(fixture('virsh-metadata-after-set.txt'))).toEqual({ home: 'kvmnode1', moved: 1795541418, reason: 'kvmnode1 at 93 % > 80 %' });
    // libvirt stores the children prefixed; the parser also takes that form
    expect(parseVmMetadata(`${fixture('virsh-dumpxml-metadata-after-set.txt').replace(/^\s*<metadata>\s*/, '')}</hvmctl:vm>`)).toMatchObject({ home: 'kvmnode1', moved: 1795541418 });
  });
  it('round-trips through the format, escaping XML', () => {
    const meta = { home: 'kvmnode1', moved: 1700000123, reason: 'load <90 % & rising>' };
    expect(parseVmMetadata(formatVmMetadata(meta))).toEqual(meta);
  });
  it('rejects something else', () => {
    expect(() => parseVmMetadata('<domain/>')).toThrow(ParseError);
  });
});

describe('cgroup', () => {
  it('reads cpuacct.usage deltas', () => {
    const d = parseCpuacctUsage(fixture('cgroup-cpuacct.usage-2.txt')) - parseCpuacctUsage(fixture('cgroup-cpuacct.usage-1.txt'));
    expect(d).toBeGreaterThan(0);
  });
  it('limits CPUs by the CFS quota', () => {
    expect(cgroupCpuLimit(fixture('cgroup-cpu.cfs_quota_us-capped.txt'), fixture('cgroup-cpu.cfs_period_us.txt'), 2)).toBe(0.5);
    expect(cgroupCpuLimit(fixture('cgroup-cpu.cfs_quota_us-unlimited.txt'), fixture('cgroup-cpu.cfs_period_us.txt'), 2)).toBe(2);
    expect(cgroupCpuLimit(undefined, undefined, 4)).toBe(4);
  });
  it('counts online CPUs', () => {
    expect(parseCpuList(fixture('sys-cpu-online.txt'))).toBe(2);
    expect(parseCpuList('0,2-5\n')).toBe(5);
    expect(() => parseCpuList('x')).toThrow(ParseError);
  });
  it('maps a cpuacct directory to the cpu hierarchy', () => {
    expect(cpuDirFor('/sys/fs/cgroup/cpuacct/hvmlab/kvmnode1')).toBe('/sys/fs/cgroup/cpu/hvmlab/kvmnode1');
  });
  it('rejects a non-number', () => {
    expect(() => parseCpuacctUsage('-1')).toThrow(ParseError);
  });
});

describe('splitHeadOutput', () => {
  it('splits head -v output per file (a missing file is absent)', () => {
    const m = splitHeadOutput(fixture('head-v-multi.txt'));
    expect([...m.keys()]).toEqual(['/proc/stat', '/proc/meminfo', '/sys/fs/cgroup/cpuacct/cpuacct.usage']);
    expect(parseProcStat(m.get('/proc/stat')!).cpus).toBe(2);
    expect(parseMeminfo(m.get('/proc/meminfo')!).totalKiB).toBeGreaterThan(0);
    expect(parseCpuacctUsage(m.get('/sys/fs/cgroup/cpuacct/cpuacct.usage')!)).toBeGreaterThan(0);
  });
});
