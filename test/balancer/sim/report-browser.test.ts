// The replay's HTML reports as a reader sees them: rendered by headless
// Chromium (Debian's chromium-headless-shell, which .ci/run installs) at a
// desktop width and at a phone's, and measured in the page. Nothing may run off
// the page sideways (the metrics table and the plots scroll inside their own
// boxes), no plot label may be cut by the plot's edge or overlap another, no
// plot text may be drawn under 9 px, no number in the targets may break over
// two lines, and the data must stay inside the plot's grid.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulate } from '../../../cli/balance-simulate.ts';
import type { CliIo } from '../../../cli/io.ts';
import { Chromium, chromiumMissing } from '../../support/chromium.ts';

const SLICE = new URL('../../fixtures/traces/planetlab-slice', import.meta.url).pathname;
const missing = chromiumMissing();
if (missing) console.error(`report-browser.test.ts skipped: ${missing}`);

const quiet: CliIo = { out: () => undefined, err: () => undefined, tty: false, env: {}, cwd: process.cwd() };

/** What the page says of itself, measured in it. Runs in the page. */
const MEASURE = `(() => {
  const problems = [];
  const label = (el) => JSON.stringify((el.textContent || '').trim().slice(0, 50));
  const de = document.documentElement;
  if (de.scrollWidth > innerWidth) problems.push('the page is ' + de.scrollWidth + ' px wide in a ' + innerWidth + ' px window');
  for (const el of document.querySelectorAll('h1, p, dt, dd, td, b')) {
    if (el.scrollWidth > el.clientWidth + 1) problems.push(el.tagName + ' ' + label(el) + ' runs past its box');
  }
  for (const el of document.querySelectorAll('td.n')) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    if (lines.size > 1) problems.push('the number ' + label(el) + ' is broken over ' + lines.size + ' lines');
  }
  const svgs = [...document.querySelectorAll('svg')];
  const inside = (r, box, slack) => r.left >= box.left - slack && r.right <= box.right + slack && r.top >= box.top - slack && r.bottom <= box.bottom + slack;
  for (const svg of svgs) {
    const name = JSON.stringify(svg.getAttribute('aria-label'));
    const box = svg.getBoundingClientRect();
    const scale = box.width / svg.viewBox.baseVal.width;
    const texts = [...svg.querySelectorAll('text')].map((t) => ({ el: t, r: t.getBoundingClientRect(), px: parseFloat(getComputedStyle(t).fontSize) * scale }));
    for (const t of texts) {
      if (!inside(t.r, box, 0.5)) problems.push(label(t.el) + ' is cut by the edge of ' + name);
      if (t.px < 9) problems.push(label(t.el) + ' in ' + name + ' is drawn ' + t.px.toFixed(1) + ' px high');
    }
    for (let i = 0; i < texts.length; i++)
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i].r, b = texts[j].r;
        if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5)
          problems.push(label(texts[i].el) + ' and ' + label(texts[j].el) + ' overlap in ' + name);
      }
    const grid = [...svg.querySelectorAll('line.g')].map((l) => l.getBoundingClientRect());
    const area = { left: Math.min(...grid.map((g) => g.left)), right: Math.max(...grid.map((g) => g.right)), top: Math.min(...grid.map((g) => g.top)), bottom: Math.max(...grid.map((g) => g.bottom)) };
    for (const d of svg.querySelectorAll('polyline, rect')) {
      if (!inside(d.getBoundingClientRect(), area, 1.5)) problems.push('the data of ' + name + ' leaves its grid');
    }
  }
  return {
    problems,
    title: document.title,
    h1: document.querySelector('h1')?.textContent ?? '',
    lead: document.querySelector('p.lead')?.textContent ?? '',
    plots: svgs.map((s) => ({ name: s.getAttribute('aria-label'), width: s.getBoundingClientRect().width, labels: [...s.querySelectorAll('text')].map((t) => t.textContent) })),
    terms: [...document.querySelectorAll('dl.glossary dt')].map((d) => d.textContent),
    targets: [...document.querySelectorAll('table.targets tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    text: document.body.innerText,
  };
})()`;

interface Measured {
  readonly problems: string[];
  readonly title: string;
  readonly h1: string;
  readonly lead: string;
  readonly plots: { readonly name: string; readonly width: number; readonly labels: string[] }[];
  readonly terms: string[];
  readonly targets: string[][];
  readonly text: string;
}

const WIDTHS = [1280, 360];
// A page opens and is measured in ~0.1 s (0.2 s beside a CPU hog); the bound is for a busy machine.
const BOUND = 30_000;

describe.skipIf(missing !== undefined)('the reports in headless Chromium', () => {
  let dir: string;
  let browser: Chromium;
  const pages = new Map<string, string>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvmctl-report-'));
    browser = await Chromium.launch();
    for (const [name, args] of [
      ['consolidate', ['--strategy', 'consolidate', '--hosts', '100']],
      ['thr-mmt', ['--strategy', 'thr-mmt', '--hosts', '100']],
      ['home', ['--strategy', 'home']],
    ] as const) {
      const file = join(dir, `${name}.html`);
      expect(await runSimulate(['--trace', SLICE, ...args, '--report', file], quiet)).toBe(0);
      pages.set(name, await readFile(file, 'utf8'));
    }
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function measure(name: string, width: number): Promise<Measured> {
    const page = await browser.open(pages.get(name) ?? '', width);
    try {
      return await page.evaluate<Measured>(MEASURE);
    } finally {
      await page.close();
    }
  }

  it.each(WIDTHS)('consolidate at %i px: the targets, the yardstick in the lead, settings in units, plots readable', async (width) => {
    const m = await measure('consolidate', width);
    expect(m.problems).toEqual([]);
    expect(m.title).toBe("planetlab-slice: hvmctl consolidate on CloudSim's 100-host model");
    expect(m.h1).toBe(m.title);
    // a day without published figures: read against MFPED replayed in the same run
    expect(m.lead).toMatch(/^[\d,]+ migrations against replayed MFPED's [\d,]+; [\d.]+ kWh against [\d.]+; SLATAH [\d.]+ % against [\d.]+ %\.$/);
    expect(m.text).toMatch(/Targets against replayed MFPED: [0-4] of 4 met/);
    expect(m.targets.map((row) => row[1])).toEqual(['energy kWh ≤ MFPED', 'migrations ≤ MFPED / 5', 'SLAV ≤ MFPED / 5', 'SLATAH ≤ 1 %']);
    for (const row of m.targets) expect(row[0]).toMatch(/^(met|MISSED)$/);
    expect(m.text).toMatch(/high 100\u00a0%, low 40\u00a0%, overloadWindow 2\u00a0measurements, calmWindow 2\u00a0measurements, cooldown 10\u00a0min, cooldownMemory 24\u00a0h, history 1\u00a0h/);
    expect(m.text).toMatch(/active hosts after the first hour\s+[\d.]+ on average/);
    expect(m.terms).toEqual(['SLATAH', 'PDM', 'SLAV', 'ESV']);
    // the first hour to scale, then the rest of the day where the first hour dwarfs it
    expect(m.plots.map((p) => p.name)).toContain('Active hosts, after the first hour');
    for (const p of m.plots) expect(p.width).toBeGreaterThanOrEqual(Math.min(width - 32, 860) - 1);
    expect(m.plots[0]?.labels).toEqual(expect.arrayContaining(['0 h', '12 h', '24 h']));
  }, BOUND);

  it.each(WIDTHS)('thr-mmt at %i px: no figures to read it against on this slice, no targets', async (width) => {
    const m = await measure('thr-mmt', width);
    expect(m.problems).toEqual([]);
    expect(m.lead).toMatch(/^[\d,]+ migrations, [\d.]+ kWh, SLATAH [\d.]+ %\.$/);
    expect(m.targets).toEqual([]);
    expect(m.text).toMatch(/thr-mmt: threshold 80\u00a0%/);
  }, BOUND);

  it.each(WIDTHS)('home at %i px: the day in the title, the overload line and the unbalanced day behind, the glossary of its own table', async (width) => {
    const m = await measure('home', width);
    expect(m.problems).toEqual([]);
    expect(m.title).toBe('planetlab-slice: home on one overloaded home and two helpers');
    expect(m.lead).toMatch(/^\d+ minutes overloaded, \d+ migrations, \d+ remigrations, [\d.]+ VM-hours away from home\.$/);
    expect(m.text).toMatch(/a run every 1\u00a0min/);
    expect(m.text).toMatch(/cooldown 3\u00a0min/);
    expect(m.terms).toEqual(['SLATAH', 'PDM']);
    expect(m.plots.map((p) => p.name)).toEqual(['Home utilisation as measured', 'VMs away from home', 'Moves per run']);
    expect(m.plots[0]?.labels).toContain('overloaded above 80 %');
    // the same day without balancing drawn behind, and the legend says which line is which
    expect(m.plots[0]?.labels).toContain('━ home  ━ no balancing');
  }, BOUND);
});
