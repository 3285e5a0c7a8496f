// Prediction against reality, and what happens to an emptied host.
import { describe, expect, it } from 'vitest';
import type { RunProcess } from '../../src/process.ts';
import type { MigrationResult } from '../../balancer/migrate.ts';
import { emptiedHosts, handEmptied } from '../../balancer/on-empty.ts';
import { checkPredictions, errorSummary, predictionsOf } from '../../balancer/prediction.ts';
import type { Migration } from '../../balancer/types.ts';

const m = (vm: string, from: string, to: string, p?: [number, number]): Migration => ({
  vm, from, to, kind: 'consolidate', reason: 'r', fallbacks: [], ...(p ? { predicted: { from: p[0], to: p[1] } } : {}),
});

describe('predictions', () => {
  it.each([
    { name: 'each end of each move', done: [m('a', 'h1', 'h2', [0.2, 0.7])], want: { h1: 0.2, h2: 0.7 } },
    { name: 'the last move touching a host has the last word', done: [m('a', 'h1', 'h2', [0.4, 0.5]), m('b', 'h1', 'h3', [0.1, 0.6])], want: { h1: 0.1, h2: 0.5, h3: 0.6 } },
    { name: 'a move without a prediction adds nothing', done: [m('a', 'h1', 'h2')], want: {} },
  ])('$name', ({ done, want }) => {
    expect(predictionsOf(done)).toEqual(want);
  });
  it('compares with what is measured; an unmeasured host is left out', () => {
    const rows = checkPredictions({ h1: 0.2, h2: 0.7, gone: 0.5 }, new Map([['h1', 0.25], ['h2', 0.6]]));
    expect(rows).toEqual([
      { host: 'h1', predicted: 0.2, measured: 0.25, error: 0.05 },
      { host: 'h2', predicted: 0.7, measured: 0.6, error: -0.1 },
    ]);
    const s = errorSummary(rows);
    expect(s.count).toBe(2);
    expect(s.mean).toBeCloseTo(-0.025, 12);
    expect(s.meanAbs).toBeCloseTo(0.075, 12);
  });
});

describe('an emptied host', () => {
  const result = (migration: Migration, ok: boolean): MigrationResult => ({ migration, ok, dryRun: false, host: ok ? migration.to : migration.from, attempts: [] }) as unknown as MigrationResult;
  it.each([
    { name: 'every move off it succeeded', ok: [true, true], dry: false, want: ['h1'] },
    { name: 'one move off it failed', ok: [true, false], dry: false, want: [] },
    { name: 'a dry run empties nothing', ok: [true, true], dry: true, want: [] },
  ])('$name', ({ ok, dry, want }) => {
    const moves = [m('a', 'h1', 'h2'), m('b', 'h1', 'h3')];
    expect(emptiedHosts({ migrations: moves, reasons: [], emptied: ['h1'] }, moves.map((x, i) => result(x, ok[i] as boolean)), dry)).toEqual(want);
  });
  it('is only reported when no command is set', async () => {
    expect(await handEmptied(['h1'], undefined, undefined)).toEqual(['h1 is empty: it may be switched off (no on_empty command is set, so nothing is done)']);
  });
  it('is handed to the operator command, {host} replaced, argv without a shell; the notes name the program, never its arguments', async () => {
    const calls: (readonly string[])[] = [];
    const exec: RunProcess = async (argv) => {
      calls.push(argv);
      return argv[4] === 'h2' ? { code: 3, stdout: '', stderr: 'bmc: no answer\n', timedOut: false } : { code: 0, stdout: '', stderr: '', timedOut: false };
    };
    const notes = await handEmptied(['h1', 'h2'], ['/usr/local/sbin/bmc', '--password', 's3cret', 'off', '{host}'], exec);
    expect(calls).toEqual([['/usr/local/sbin/bmc', '--password', 's3cret', 'off', 'h1'], ['/usr/local/sbin/bmc', '--password', 's3cret', 'off', 'h2']]);
    expect(notes).toEqual(["h1 is empty: handed to on_empty's /usr/local/sbin/bmc (exit 0)", "h2 is empty: on_empty's /usr/local/sbin/bmc failed (exit 3: bmc: no answer)"]);
    expect(notes.join('\n')).not.toContain('s3cret');
  });
});
