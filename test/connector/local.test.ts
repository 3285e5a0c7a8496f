import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connector/local.ts';

describe('local connector', () => {
  const local = new LocalConnector('here');
  it('runs sh -c with stdin, returns code, stdout and stderr without throwing', async () => {
    expect(await local.run('cat; echo err >&2; exit 4', { input: 'in' })).toEqual({ code: 4, stdout: 'in', stderr: 'err\n' });
    expect(local.host).toBe('here');
  });
  it('kills a command that outlives its timeout and says so (exit 124)', async () => {
    const r = await local.run('echo $$; exec sleep 30', { timeoutMs: 200 });
    expect(r.code).toBe(124);
    expect(r.stderr).toContain('timed out after 200 ms');
    // Killed, not waited for: the process is gone when run() returns.
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(1);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  }, 20_000);
  it('a command that ignores its input does not break the run', async () => {
    expect((await local.run('true', { input: 'x'.repeat(1 << 20) })).code).toBe(0);
  });
});
