import { describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connector/local.ts';

describe('local connector', () => {
  const local = new LocalConnector('here');
  it('runs sh -c with stdin, returns code, stdout and stderr without throwing', async () => {
    expect(await local.run('cat; echo err >&2; exit 4', { input: 'in' })).toEqual({ code: 4, stdout: 'in', stderr: 'err\n' });
    expect(local.host).toBe('here');
  });
  it('kills a command that outlives its timeout and says so (exit 124)', async () => {
    const started = Date.now();
    const r = await local.run('sleep 5', { timeoutMs: 200 });
    expect(r.code).toBe(124);
    expect(r.stderr).toContain('timed out after 200 ms');
    expect(Date.now() - started).toBeLessThan(2000);
  });
  it('a command that ignores its input does not break the run', async () => {
    expect((await local.run('true', { input: 'x'.repeat(1 << 20) })).code).toBe(0);
  });
});
