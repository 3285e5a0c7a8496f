import { mkdtemp, readFile, rm, writeFile, mkdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSimulate } from '../../../cli/balance-simulate.ts';
import { consolidateConfig, thrMmtConfig } from '../../../balancer/sim/config.ts';
import { simulate } from '../../../balancer/sim/simulate.ts';
import { loadTrace, parseTraceFile } from '../../../balancer/sim/trace.ts';
import type { CliIo } from '../../../cli/io.ts';

const SLICE = new URL('../../fixtures/traces/planetlab-slice', import.meta.url).pathname;

function io(): CliIo & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (t) => lines.push(t), err: (t) => lines.push(t), tty: false, env: {}, cwd: process.cwd() };
}

describe('trace loading', () => {
  it('reads the 40-file slice (names with spaces included), 288 samples each, as fractions', async () => {
    const t = await loadTrace(SLICE);
    expect(t.names.length).toBe(40);
    expect(t.length).toBe(288);
    expect(t.names.some((n) => n.includes(' '))).toBe(true);
    const first = (await readFile(join(SLICE, t.names[0] as string), 'utf8')).split('\n')[0];
    expect(t.samples[0]).toBeCloseTo(Number(first) / 100, 12);
  });
  it.each([
    { text: '12\n7x\n', error: /vm:2: unexpected character 'x'/ },
    { text: '12\n101\n', error: /vm:2: 101 is above 100/ },
    { text: '\n\n', error: /vm:1: no samples/ },
    // a blank ends a number: "1 0" is not 10
    { text: '12\n1 0\n', error: /vm:2: more than one number on the line/ },
    { text: '12\n2\t5\n', error: /vm:2: more than one number on the line/ },
  ])('rejects $text naming file and line', ({ text, error }) => {
    expect(() => parseTraceFile('vm', new TextEncoder().encode(text))).toThrow(error);
  });
  it('a missing directory is a TraceError with a hint and the reason, exit 65', async () => {
    await expect(loadTrace('/nonexistent/trace')).rejects.toMatchObject({ code: 'E_TRACE', exitCode: 65, message: expect.stringMatching(/\(no such directory\)$/), hint: expect.stringContaining('--trace') });
    await expect(loadTrace(join(SLICE, (await loadTrace(SLICE)).names[0]!))).rejects.toMatchObject({ message: expect.stringMatching(/\(not a directory\)$/) });
  });
  it('a file shorter than the others is refused by name instead of cutting the day to its length', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hvmctl-short-'));
    try {
      await writeFile(join(dir, 'a'), '10\n20\n30\n');
      await writeFile(join(dir, 'b'), '50\n');
      await expect(loadTrace(dir)).rejects.toThrow(/b holds 1 samples where .*a holds 3/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('reads files through links', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hvmctl-links-'));
    try {
      const t = await loadTrace(SLICE);
      for (const name of t.names.slice(0, 3)) await symlink(join(SLICE, name), join(dir, name));
      const linked = await loadTrace(dir);
      expect(linked.names).toEqual([...t.names.slice(0, 3)].sort());
      expect(linked.length).toBe(288);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('replaying the slice end to end', async () => {
  const t = await loadTrace(SLICE);
  const none = simulate(t, { config: { ...thrMmtConfig, maxMigrationsPerRun: 0 } });
  const thr = simulate(t, { config: thrMmtConfig });
  const ours = simulate(t, { config: consolidateConfig });
  it('without migrations nothing is ever short (CloudSim places VMs at their full MIPS)', () => {
    expect(none.metrics.migrations).toBe(0);
    expect(none.metrics.slatah).toBe(0);
  });
  it.each([
    { name: 'thr-mmt', r: thr },
    { name: 'consolidate', r: ours },
  ])('$name consolidates: less energy than no migration, sane metrics, a value per interval', ({ r }) => {
    expect(r.metrics.migrations).toBeGreaterThan(0);
    expect(r.metrics.energyKWh).toBeGreaterThan(0);
    expect(r.metrics.energyKWh).toBeLessThan(none.metrics.energyKWh);
    expect(r.metrics.slatah).toBeGreaterThanOrEqual(0);
    expect(r.metrics.slatah).toBeLessThan(0.2);
    expect(r.metrics.slav).toBeCloseTo(r.metrics.slatah * r.metrics.pdm, 15);
    expect(r.series.activeHosts).toHaveLength(288);
    expect(r.series.energyKWh.reduce((a, b) => a + b, 0)).toBeCloseTo(r.metrics.energyKWh, 9);
    expect(r.series.migrations.reduce((a, b) => a + b, 0)).toBe(r.metrics.migrations);
  });
  it('ours moves far less than THR-MMT on the slice', () => {
    expect(ours.metrics.migrations * 3).toBeLessThan(thr.metrics.migrations);
  });
});

describe('hvmctl balance simulate (runSimulate)', () => {
  it('prints the table, writes a self-contained report, and --json parses', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hvmctl-sim-'));
    try {
      const out = io();
      const report = join(dir, 'day.html');
      expect(await runSimulate(['--trace', SLICE, '--strategy', 'thr-mmt', '--hosts', '100', '--report', report], out)).toBe(0);
      const text = out.lines.join('\n');
      expect(text).toMatch(/40 VMs \(files in name order\) on 100 hosts, 288 intervals/);
      expect(text).toMatch(/replayed THR-MMT-0.8\s+\d+\.\d\d\s+\d+/);
      const html = await readFile(report, 'utf8');
      expect(html).toMatch(/^<!doctype html>/);
      // four plots, and again after the first hour for those it dwarfs (active hosts here)
      expect((html.match(/<svg /g) ?? []).length).toBe(5);
      expect(html).toMatch(/Active hosts, after the first hour/);
      expect(html).toMatch(/<title>planetlab-slice: replayed THR-MMT-0.8 on CloudSim's 100-host model<\/title>/);
      expect(html).toMatch(/<dt>SLATAH<\/dt>.*<dt>PDM<\/dt>.*<dt>SLAV<\/dt>.*<dt>ESV<\/dt>/s);
      expect(html).not.toMatch(/<script|https?:\/\//);
      const json = io();
      expect(await runSimulate(['--trace', SLICE, '--strategy', 'consolidate', '--json'], json)).toBe(0);
      const parsed = JSON.parse(json.lines.join('\n')) as { metrics: { migrations: number }; strategy: string; settings: Record<string, number>; common: Record<string, number> };
      expect(parsed.strategy).toBe('consolidate');
      expect(parsed.settings).toEqual({ high: 1, low: 0.4, overloadWindow: 2, calmWindow: 2, cooldown: 600, cooldownMemory: 86400, history: 3600 });
      expect(parsed.common.maxMigrationsPerRun).toBe(Number.MAX_SAFE_INTEGER);
      expect(parsed.metrics.migrations).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('consolidate on a day without published figures: THR-MMT and MFPED replayed beside it, the lower bound and the targets', async () => {
    const out = io();
    expect(await runSimulate(['--trace', SLICE, '--strategy', 'consolidate', '--hosts', '100'], out)).toBe(0);
    const text = out.lines.join('\n');
    expect(text).toMatch(/^replayed THR-MMT-0.8 /m);
    expect(text).toMatch(/^replayed MFPED /m);
    expect(text).toMatch(/physical lower bound \d+\.\d\d kWh .*hvmctl consolidate: \d+\.\d\d × the bound/);
    expect(text).toMatch(/targets against replayed MFPED: \d of 4 met\n {2}(met {3}|MISSED) {2}energy kWh ≤ MFPED/);
  });
  it.each([
    { argv: [], error: /--trace DIR is required/ },
    { argv: ['--trace', SLICE, '--strategy', 'lr-mmt'], error: /unknown strategy 'lr-mmt'/ },
    { argv: ['--trace', SLICE, '--policy', 'hvmctl'], error: /--policy is now --strategy/ },
    { argv: ['--trace', SLICE, '--strategy', 'thr-mmt', '--hosts', 'x'], error: /--hosts must be a whole number from 1 to 800000, not 'x'/ },
    // checked whichever scenario uses them
    { argv: ['--trace', SLICE, '--strategy', 'home', '--hosts', 'x'], error: /--hosts must be a whole number/ },
    { argv: ['--trace', SLICE, '--strategy', 'consolidate', '--vms', '0'], error: /--vms must be a whole number from 1 to 100000, not '0'/ },
    { argv: ['--trace', SLICE, '--strategy', 'consolidate', '--hosts', '100000000'], error: /--hosts must be a whole number from 1 to 800000/ },
    { argv: ['--trace', SLICE, '--strategy', 'consolidate', '--hosts', '1e3'], error: /--hosts must be a whole number/ },
    { argv: ['--trace', SLICE], error: /--strategy NAME is required/ },
    { argv: ['--trace', SLICE, '--strategy', 'home', '--peak-share', '1'], error: /--peak-share must be between 0 and 1/ },
    { argv: ['--bogus'], error: /Unknown option/ },
  ])('usage error: $argv', async ({ argv, error }) => {
    await expect(runSimulate(argv, io())).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(error) });
  });
  it('a report that cannot be written is said before the replay, exit 73', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hvmctl-report-'));
    try {
      for (const [report, why] of [
        [join(dir, 'missing', 'r.html'), /cannot write the report .*r\.html: its directory .*missing cannot be read \(ENOENT\)/],
        [dir, /cannot write the report .*: it is a directory/],
      ] as const) {
        const out = io();
        await expect(runSimulate(['--trace', '/nonexistent/not-read', '--strategy', 'consolidate', '--report', report], out)).rejects.toMatchObject({ exitCode: 73, message: expect.stringMatching(why) });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it("a subset of a published day, or the day on other hosts, is not judged against CloudSim's published figures", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hvmctl-named-'));
    try {
      // a directory named like a published day, holding only the slice's files
      const named = join(dir, '20110303');
      await mkdir(named);
      const t = await loadTrace(SLICE);
      for (const name of t.names) await writeFile(join(named, name), await readFile(join(SLICE, name)));
      const out = io();
      expect(await runSimulate(['--trace', named, '--strategy', 'consolidate', '--hosts', '100', '--json'], out)).toBe(0);
      const json = JSON.parse(out.lines.join('\n')) as { day?: string; references: { policy: string; source?: string }[] };
      expect(json.day).toBeUndefined();
      expect(json.references.find((r) => r.policy === 'MFPED')?.source).toMatch(/replayed|this simulator/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('a trace directory that is not one cannot be replayed and says why', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hvmctl-bad-'));
    try {
      await mkdir(join(dir, 'day'));
      await writeFile(join(dir, 'day', 'vm1'), '10\nabc\n');
      await expect(runSimulate(['--trace', join(dir, 'day'), '--strategy', 'consolidate'], io())).rejects.toThrow(/vm1:2: unexpected character 'a'/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
