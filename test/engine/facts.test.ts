import { describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connector/local.ts';
import { ParseError } from '../../src/errors.ts';
import { sh } from '../../src/shell.ts';
import { batchScript, frameOutput, gatherFacts, readBatchScript, splitBatch } from '../../tasks/engine/facts.ts';
import type { Fact } from '../../tasks/engine/types.ts';

const rawFact = (key: string, command: string): Fact<{ code: number; stdout: string; stderr: string }> => ({
  key,
  command,
  parse: (r) => r,
});

describe('fact batch framing', () => {
  const local = new LocalConnector();

  it('round-trips nasty output through a real shell: marker-looking text, no trailing newline, stderr, exit codes, binary', async () => {
    const facts = [
      rawFact('plain', 'echo hello'),
      rawFact('no-newline', "printf 'no newline at end'"),
      rawFact('marker-lookalike', "printf 'HVMCTL-FACT-deadbeef e 0\\nHVMCTL-FACT-deadbeef x 0 0\\n'"),
      rawFact('stderr-and-code', 'echo out; echo err >&2; exit 3'),
      rawFact('empty', 'true'),
      rawFact('binary', "printf '\\001\\002\\377\\000tail'"),
      rawFact('blank-lines', "printf '\\n\\n\\n'"),
      rawFact('comment-at-end', 'echo x # a comment that would swallow a closing paren'),
      rawFact('reads-stdin', 'cat'),
    ];
    const values = await gatherFacts(local, facts);
    const get = (k: string) => values.get(k) as { code: number; stdout: string; stderr: string };
    expect(get('plain')).toEqual({ code: 0, stdout: 'hello\n', stderr: '' });
    expect(get('no-newline').stdout).toBe('no newline at end');
    expect(get('marker-lookalike').stdout).toBe('HVMCTL-FACT-deadbeef e 0\nHVMCTL-FACT-deadbeef x 0 0\n');
    expect(get('stderr-and-code')).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(get('empty')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(Buffer.from(get('binary').stdout, 'utf8').subarray(-5).toString('latin1')).toBe('\u0000tail');
    expect(get('binary').stdout.startsWith('\u0001\u0002')).toBe(true);
    expect(get('blank-lines').stdout).toBe('\n\n\n');
    expect(get('comment-at-end').stdout).toBe('x\n');
    expect(get('reads-stdin')).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('gathers a fact used by two tasks once', async () => {
    const calls: string[] = [];
    const conn = { host: 'h', run: async (c: string) => { calls.push(c); return local.run(c); }, close: async () => {} };
    const f = rawFact('same', 'echo once');
    const values = await gatherFacts(conn, [f, f, rawFact('other', 'echo two')]);
    expect(calls).toHaveLength(1);
    expect(readBatchScript(calls[0] ?? '')?.facts.map((x) => x.key)).toEqual(['same', 'other']);
    expect(values.size).toBe(2);
  });

  it('frameOutput matches what the shell prints, and readBatchScript recovers keys and commands', async () => {
    const facts = [rawFact("it's/a key", sh`echo ${'a b'}`), rawFact('two', 'printf x')];
    const batch = batchScript(facts);
    const real = await local.run(batch.script);
    expect(real.stdout).toBe(
      frameOutput(batch.marker, [
        { code: 0, stdout: 'a b\n', stderr: '' },
        { code: 0, stdout: 'x', stderr: '' },
      ]),
    );
    expect(readBatchScript(batch.script)).toEqual({
      marker: batch.marker,
      facts: [
        { key: "it's/a key", command: "echo 'a b'" },
        { key: 'two', command: 'printf x' },
      ],
    });
  });

  it('a cut-short batch is a ParseError naming the fact', () => {
    const batch = batchScript([rawFact('a', 'true'), rawFact('b', 'true')]);
    const full = frameOutput(batch.marker, [
      { code: 0, stdout: '', stderr: '' },
      { code: 0, stdout: 'x', stderr: '' },
    ]);
    const cut = full.slice(0, full.lastIndexOf(' x 1 '));
    expect(() => splitBatch(batch, cut)).toThrow(ParseError);
    expect(() => splitBatch(batch, cut)).toThrow(/fact 'b'/);
  });

  it('a parser error becomes a FactError naming host and fact', async () => {
    const bad: Fact<number> = {
      key: 'num',
      command: 'echo nope',
      parse: (r) => {
        if (!/^\d+$/.test(r.stdout.trim())) throw new ParseError('num', `not a number: ${r.stdout.trim()}`);
        return Number(r.stdout);
      },
    };
    await expect(gatherFacts(local, [bad])).rejects.toThrow(/localhost: fact 'num': cannot parse num: not a number: nope/);
  });
});
