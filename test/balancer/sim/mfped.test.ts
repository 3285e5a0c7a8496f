// MFPED's parts: CloudSim's local regression (a straight line through the last
// 10 values, 70 % fallback), the medium-fit destination, the targets and the
// lower bound they are printed with.
import { describe, expect, it } from 'vitest';
import { hostHistory, lineThrough, lrOverloaded, lrPrediction } from '../../../balancer/sim/local-regression.ts';
import { bestWattsPerMips, lowerBoundKWh } from '../../../balancer/sim/lower-bound.ts';
import { HOST_TYPES } from '../../../balancer/sim/model.ts';
import { replayDecide, type ReplayConfig } from '../../../balancer/sim/strategies.ts';
import { consolidationTargets, targetMargin, targetsText, targetsVerdict } from '../../../balancer/sim/targets.ts';
import { targetsHtml } from '../../../balancer/sim/report.ts';
import type { History, HostState, VmState } from '../../../balancer/types.ts';

const lr = { safety: 1.2, fallback: 0.7, intervalS: 300 };
const vm = (name: string, host: string, cpu: number, memMiB = 870): VmState => ({ name, host, home: undefined, cpuUsed: cpu, memMiB, pinned: false });
const history = (past: Record<string, number[]>): History => ({ hostUtilisation: new Map(), lastMigration: new Map(), vmCpu: new Map(Object.entries(past)) });

describe('local regression (CloudSim LR)', () => {
  it.each([
    { y: [1, 2, 3, 4], line: [0, 1] },
    { y: [5, 5, 5], line: [5, 0] },
    { y: [2, 4, 6, 8, 10], line: [0, 2] },
  ])('line through $y is $line', ({ y, line }) => {
    const [a, b] = lineThrough(y);
    expect(a).toBeCloseTo(line[0] as number, 12);
    expect(b).toBeCloseTo(line[1] as number, 12);
  });
  it("a host's history is its VMs' pasts added, newest first, oldest zeros trimmed", () => {
    const h = hostHistory([vm('a', 'h', 30), vm('b', 'h', 20)], history({ a: [0, 0, 10, 20], b: [0, 5, 5] }), 100);
    expect(h.map((v) => Math.round(v * 100) / 100)).toEqual([0.5, 0.25, 0.15]);
  });
  it.each([
    { name: 'rising 5 points a step to 90 %: one step ahead (the longest move takes under one) 95 %, × 1.2 ≥ 1', past: [45, 50, 55, 60, 65, 70, 75, 80, 85], now: 90, over: true, predicted: 1.14 },
    { name: 'flat at 75 %: 0.9, not overloaded', past: Array(9).fill(75), now: 75, over: false, predicted: 0.9 },
    { name: 'under 10 values: the 70 % fallback on requests', past: [10, 10], now: 75, over: true, predicted: undefined },
    { name: 'under 10 values and under 70 %', past: [10], now: 65, over: false, predicted: undefined },
  ])('$name', ({ past, now, over, predicted }) => {
    const vms = [vm('a', 'h', now)];
    const hist = history({ a: past });
    const p = lrPrediction(vms, hist, 100, lr);
    if (predicted === undefined) expect(p).toBeUndefined();
    else expect(p).toBeCloseTo(predicted, 9);
    expect(lrOverloaded(vms, hist, 100, lr)).toBe(over);
  });
});

describe('MFPED destination: the host nearest 60 % at measurement, then the more efficient', () => {
  const model = (max: number): number[] => Array.from({ length: 11 }, (_, i) => 50 + ((max - 50) * i) / 10);
  const host = (name: string, used: number, power = 150): HostState => ({
    name, reachable: true, drained: false, cpuCapacity: 1000, cpuPerCore: 1000, cpuUsed: used, memTotalMiB: 8192, memAvailableMiB: 8192, powerModel: model(power),
  });
  const config: ReplayConfig = { strategy: 'mfped', settings: { ...lr, target: 0.6 }, maxMigrationsPerRun: 100, pinned: [], drained: [], memMarginMiB: 0 };
  it.each([
    { name: 'an overloaded host sheds to the one nearest 60 % that LR accepts (h80 would be predicted at 108 %)', hosts: { h30: 300, h55: 550, h80: 800 }, want: 'h55' },
    { name: 'a tie on distance goes to the more efficient host', hosts: { a50: 500, b70: 700 }, power: { b70: 120 }, want: 'b70' },
  ])('$name', ({ hosts, power, want }) => {
    const hs = [host('hot', 900), ...Object.entries(hosts).map(([n, u]) => host(n, u, (power as Record<string, number> | undefined)?.[n]))];
    // hot: 90 % flat, × 1.2 ≥ 1; its least-memory VM (100) leaves, then 80 % × 1.2 < 1
    const vms = [vm('small', 'hot', 100, 100), vm('big', 'hot', 800, 2000), ...hs.slice(1).map((h) => vm(`${h.name}-vm`, h.name, h.cpuUsed, 2000))];
    const flat = Object.fromEntries(vms.map((v) => [v.name, Array(9).fill(v.cpuUsed)]));
    const plan = replayDecide({ time: 0, hosts: hs, vms }, config, history(flat));
    const shed = plan.migrations.filter((m) => m.from === 'hot');
    expect(shed.map((m) => `${m.vm}->${m.to}`)).toEqual([`small->${want}`]);
  });
});

describe('targets and lower bound', () => {
  it('the G5 (135 W for 5,320 MIPS) is the most efficient host; a day of 1 MIPS·s costs that', () => {
    expect(bestWattsPerMips(HOST_TYPES)).toBeCloseTo(135 / 5320, 12);
    expect(lowerBoundKWh(3_600_000 * 5320, HOST_TYPES)).toBeCloseTo(135, 9);
  });
  it.each([
    { m: { energyKWh: 100, migrations: 1000, slatah: 0.005, pdm: 0, slav: 1e-6, esv: 0 }, met: [true, true, true, true] },
    { m: { energyKWh: 130, migrations: 2100, slatah: 0.02, pdm: 0, slav: 3e-6, esv: 0 }, met: [false, false, false, false] },
  ])('against MFPED 117.71 kWh / 10,299 / SLAV 7.3e-6: $met', ({ m, met }) => {
    const t = consolidationTargets(m, { source: 'CloudSim MFPED', energyKWh: 117.71, migrations: 10299, slav: 7.3e-6 });
    expect(t.map((x) => x.met)).toEqual(met);
  });
  it.each([
    [117.76, 117.71, '0.04 % over'],
    [117.66, 117.71, '0.04 % under'],
    [1818, 2059.8, '12 % under'],
    [1468, 1511.2, '2.9 % under'],
    [0.0067, 0.01, '33 % under'],
    [2100, 2059.8, '2.0 % over'],
    [5, 5, 'at the limit'],
    [3e-7, 0, 'over a limit of 0'],
    [0, 0, 'at the limit'],
  ])('%d against a limit of %d reads "%s", on the terminal and on the page', (value, limit, want) => {
    const target = { name: 'energy kWh ≤ MFPED', value, limit, met: value <= limit };
    expect(targetMargin(target)).toBe(want);
    const y = { source: 'CloudSim MFPED', energyKWh: limit, migrations: 1, slav: 1 };
    expect(targetsText([target], y)).toContain(`, ${want})`);
    expect(targetsHtml([target], y)).toContain(`<td class="n">${want}</td>`);
  });
  it('one line per run: all met, or the misses with their margins', () => {
    const y = { source: 'replayed MFPED', energyKWh: 121.31, migrations: 7258, slav: 7.3e-6 };
    const ok = consolidationTargets({ energyKWh: 100, migrations: 1000, slatah: 0.005, pdm: 0, slav: 1e-6, esv: 0 }, y);
    expect(targetsVerdict(ok)).toBe('4 of 4 met');
    const two = consolidationTargets({ energyKWh: 121.67, migrations: 1535, slatah: 0.005, pdm: 0, slav: 1e-6, esv: 0 }, y);
    expect(targetsVerdict(two)).toBe('2 of 4 met (missed: energy kWh ≤ MFPED, 0.3 % over; migrations ≤ MFPED / 5, 5.7 % over)');
  });
});
