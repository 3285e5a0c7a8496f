import { describe, expect, it } from 'vitest';
import { clampFutureMoves, effectiveDrained, emptyState, historyOf, nextState, parseState, reliefSecondsKept, withDrain } from '../../balancer/state-file.ts';

describe('state', () => {
  it('keeps the last N utilisations per host and records moves', () => {
    let s = emptyState;
    for (const u of [0.1, 0.2, 0.3, 0.4]) s = nextState(s, 900, new Map([['kvmnode1', u]]), new Map(), 3, { vmCpu: new Map([['server1', u * 100]]) });
    s = nextState(s, 990, new Map([['kvmnode1', 0.5]]), new Map([['server1', 1000]]), 3);
    expect(s.hostUtilisation).toEqual({ kvmnode1: [0.3, 0.4, 0.5] });
    expect(s.lastMigration).toEqual({ server1: 1000 });
    expect(parseState(JSON.stringify(s))).toEqual(s);
  });
  it('takes the later of the state file and the libvirt metadata for the last move', () => {
    const s = { ...emptyState, lastMigration: { server1: 500, server2: 900 } };
    const h = historyOf(s, new Map([['server1', 700], ['server2', 100], ['server3', 50]]));
    expect([...h.lastMigration]).toEqual([['server1', 700], ['server2', 900], ['server3', 50]]);
  });
  it('drain and undrain override the inventory list', () => {
    let s = withDrain(emptyState, 'kvmnode3', true);
    expect(effectiveDrained(['kvmnode2'], s)).toEqual(['kvmnode2', 'kvmnode3']);
    s = withDrain(withDrain(s, 'kvmnode2', false), 'kvmnode3', false);
    expect(effectiveDrained(['kvmnode2'], s)).toEqual([]);
    s = withDrain(s, 'kvmnode2', true);
    expect(effectiveDrained(['kvmnode2'], s)).toEqual(['kvmnode2']);
  });
  it.each([
    ['{"version":2}', /version 2/],
    ['{"version":1,"hostUtilisation":{"a":["x"]},"lastMigration":{}}', /bad value/],
    ['[]', /version/],
  ])('rejects %s', (text, error) => {
    expect(() => parseState(text)).toThrow(error);
  });
});

describe('state: relief times for a growing cooldown', () => {
  it('keeps a day of each VM\'s reliefs, survives a round trip, and reaches the history', () => {
    const before = { ...emptyState, lastMigration: { a: 10_000 }, reliefs: { a: [1_000, 10_000], b: [2_000] } };
    const next = nextState(before, 94_990, new Map(), new Map([['a', 95_000]]), 5, { relieved: new Set(['a']) });
    expect(next.reliefs).toEqual({ a: [10_000, 95_000] });
    const back = parseState(JSON.stringify(next));
    expect(historyOf(back, new Map()).reliefs?.get('a')).toEqual([10_000, 95_000]);
  });
  it('records the last move of every VM, but a relief time only for the VMs moved off an overloaded host', () => {
    const next = nextState(emptyState, 4_990, new Map(), new Map([['relieved', 5_000], ['packed', 5_000]]), 5, { relieved: new Set(['relieved']) });
    expect(next.lastMigration).toEqual({ relieved: 5_000, packed: 5_000 });
    expect(next.reliefs).toEqual({ relieved: [5_000] });
  });
  it("keeps a day as of the run's time: a future last move ages out no real relief, and a future relief is dropped", () => {
    const T = 1_764_000_000;
    const before = { ...emptyState, lastMigration: { ahead: T + 157_680_000, a: T - 100 }, reliefs: { a: [T - 100], ahead: [T + 157_680_000], old: [T - 90_000] } };
    const next = nextState(before, T, new Map(), new Map(), 5);
    expect(next.reliefs).toEqual({ a: [T - 100] });
  });
  it('keeps reliefs as long as a cooldown_memory longer than a day looks back, a day otherwise', () => {
    const T = 1_764_000_000;
    const before = { ...emptyState, reliefs: { a: [T - 129_600], b: [T - 3_600] } };
    expect(nextState(before, T, new Map(), new Map(), 5).reliefs).toEqual({ b: [T - 3_600] });
    expect(nextState(before, T, new Map(), new Map(), 5, { reliefSeconds: reliefSecondsKept(3_600) }).reliefs).toEqual({ b: [T - 3_600] });
    expect(nextState(before, T, new Map(), new Map(), 5, { reliefSeconds: reliefSecondsKept(172_800) }).reliefs).toEqual({ a: [T - 129_600], b: [T - 3_600] });
  });
  it('does not read the `moves` of a state file written before reliefs were kept apart', () => {
    const old = parseState(JSON.stringify({ version: 1, hostUtilisation: {}, lastMigration: { a: 9_000 }, moves: { a: [1_000, 9_000] } }));
    expect(old.lastMigration).toEqual({ a: 9_000 });
    expect(historyOf(old, new Map()).reliefs).toEqual(new Map());
  });
});

describe('a move time from the future (a clock jump)', () => {
  const T = 1_764_000_000;
  const history = { hostUtilisation: new Map(), lastMigration: new Map([['web1', T + 157_680_000], ['web2', T - 60]]), reliefs: new Map([['web1', [T + 157_680_000]]]) };

  it('counts as the time of the run that first saw it, with a warning; other VMs are untouched', () => {
    const first = clampFutureMoves(history, T);
    expect(first.history.lastMigration).toEqual(new Map([['web1', T], ['web2', T - 60]]));
    expect(first.history.reliefs).toEqual(new Map([['web1', [T]]]));
    expect(first.warnings).toEqual(['web1: its last move is recorded 157680000 s in the future (a clock jump?): counted as now']);
    expect(first.futureMoves).toEqual({ web1: [T + 157_680_000, T] });
    // Ten minutes later the VM's cooldown runs from the first sighting, not from each run's now.
    const later = clampFutureMoves(history, T + 600, first.futureMoves);
    expect(later.history.lastMigration.get('web1')).toBe(T);
    expect(later.warnings).toEqual(['web1: its last move is recorded 157679400 s in the future (a clock jump?): counted as 600 s ago, when first seen']);
  });

  it('a time the clock has passed is itself again, and nothing is remembered', () => {
    const past = clampFutureMoves(history, T + 157_680_001, { web1: [T + 157_680_000, T] });
    expect(past.history.lastMigration.get('web1')).toBe(T + 157_680_000);
    expect(past.warnings).toEqual([]);
    expect(past.futureMoves).toEqual({});
  });
});
