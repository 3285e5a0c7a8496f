// The report's plots: counts on integer ticks, the first hour to scale, and the
// rest of the day again when the first hour dwarfs it.
import { describe, expect, it } from 'vitest';
import { chart, dominated, plots, settingsText } from '../../../balancer/sim/report.ts';

const ticks = (svg: string): string[] => [...svg.matchAll(/text-anchor="end">([^<]+)</g)].map((m) => m[1] as string).filter((t) => /^[\d.]+$/.test(t));

describe('report plots', () => {
  it.each([
    { max: 6, counts: true, want: ['0', '2', '4', '6', '8'] },
    { max: 50, counts: true, want: ['0', '13', '26', '39', '52'] },
    { max: 6, counts: false, want: ['0', '1.5', '3', '4.5', '6'] },
  ])('a maximum of $max (counts $counts) is ticked $want', ({ max, counts, want }) => {
    expect(ticks(chart('t', 'u', [0, max], '#000', { counts }))).toEqual(want);
  });
  it('a series whose first hour dwarfs the rest is drawn whole, then after the first hour', () => {
    const values = [700, 700, 500, 300, ...Array(284).fill(50)];
    expect(dominated(values)).toBe(true);
    const html = plots('Active hosts', 'hosts', values, '#000', { counts: true });
    expect((html.match(/<svg /g) ?? []).length).toBe(2);
    expect(ticks(html).slice(0, 5)).toEqual(['0', '200', '400', '600', '800']);
    expect(html).toMatch(/Active hosts, after the first hour/);
    expect(html).toMatch(/>3 h</);
  });
  it('a calm series gets one plot', () => {
    expect((plots('x', 'u', Array(288).fill(3), '#000').match(/<svg /g) ?? []).length).toBe(1);
  });
});

describe('report text', () => {
  it("a strategy's settings read as words that wrap (headless Chromium showed the JSON running off the page), in units", () => {
    const text = settingsText({ high: 0.9, low: 0.4, cooldown: 3600, helpers: ['helper1', 'helper2'], pinned: [] });
    // a no-break space holds each number to its unit
    expect(text.replace(/\u00a0/g, '_')).toBe('high 90_%, low 40_%, cooldown 1_h, helpers helper1 helper2, pinned none');
  });
  it.each([
    [{ cooldown: 600, cooldownMemory: 86400, history: 3600 }, 'cooldown 10 min, cooldownMemory 24 h, history 1 h'],
    [{ cooldown: 90 }, 'cooldown 90 s'],
    [{ overloadWindow: 1, calmWindow: 3 }, 'overloadWindow 1 measurement, calmWindow 3 measurements'],
    [{ safety: 1.2, fallback: 0.7, intervalS: 300, target: 0.6 }, 'safety × 1.2, fallback 70 %, intervalS 5 min, target 60 %'],
    [{ threshold: 0.8, home: 'home' }, 'threshold 80 %, home home'],
  ])('%o reads as %s', (settings, want) => {
    expect(settingsText(settings).replace(/\u00a0/g, ' ')).toBe(want);
  });
});
