// The one local runner (src/process.ts), on real processes: exit codes,
// stdin, timeouts and what they kill, programs that cannot start.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exitCode, runAttached, runProcess, runProcessSync } from '../src/process.ts';

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readStatus(pid));
function readStatus(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}
const pids = (text: string): number[] => text.trim().split(/\s+/).filter(Boolean).map(Number);
const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runProcess', () => {
  it('returns the exit code, stdout and stderr, argv passed as written (no shell)', async () => {
    const r = await runProcess(['sh', '-c', 'echo "$1"; echo err >&2; exit 3', 'x', 'a  $b;c']);
    expect(r).toEqual({ code: 3, stdout: 'a  $b;c\n', stderr: 'err\n', timedOut: false });
  });
  it('writes the input to stdin and closes it; without input stdin is /dev/null', async () => {
    expect((await runProcess(['cat'], { input: 'in\nput' })).stdout).toBe('in\nput');
    expect((await runProcess(['cat'], { input: Buffer.from([0x68, 0x69]) })).stdout).toBe('hi');
    expect((await runProcess(['sh', '-c', 'readlink /proc/self/fd/0'])).stdout.trim()).toBe('/dev/null');
    expect((await runProcess(['true'], { input: 'x'.repeat(1 << 20) })).code).toBe(0);
  });
  it('passes the environment given, else this process\'s', async () => {
    expect((await runProcess(['/usr/bin/env'], { env: { ONLY: 'this' } })).stdout).toBe('ONLY=this\n');
    expect((await runProcess(['sh', '-c', 'echo $PATH'])).stdout.trim()).toBe(process.env.PATH);
  });
  it('a program that is not there is exit 127, the reason in stderr, no throw', async () => {
    const r = await runProcess(['/nonexistent/hvmctl-no-such-program', 'a']);
    expect(r).toEqual({ code: 127, stdout: '', stderr: '/nonexistent/hvmctl-no-such-program: not found\n', timedOut: false });
  });
  it('a process killed by a signal is 128+N', async () => {
    expect((await runProcess(['sh', '-c', 'kill -TERM $$'])).code).toBe(143);
    expect((await runProcess(['sh', '-c', 'kill -KILL $$'])).code).toBe(137);
  });
  it('a timeout ends the process (SIGTERM): code 124, timedOut, the output so far', async () => {
    const t0 = Date.now();
    const r = await runProcess(['sh', '-c', 'echo started; exec sleep 30'], { timeoutMs: 300 });
    expect(r).toMatchObject({ code: 124, stdout: 'started\n', timedOut: true });
    expect(Date.now() - t0).toBeLessThan(2000);
  });
  it('a process that ignores SIGTERM gets SIGKILL 2 s later', async () => {
    const t0 = Date.now();
    const r = await runProcess(['sh', '-c', "trap '' TERM; echo $$; while :; do sleep 0.1; done"], { timeoutMs: 300 });
    expect(r.code).toBe(124);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(alive(pids(r.stdout)[0]!)).toBe(false);
  }, 20_000);
  it("kill 'group': the timeout kills the process and its children at once", async () => {
    // sh starts two children that outlive it unless the whole group is killed
    const script = 'sleep 30 & echo $!; sleep 30 & echo $!; echo $$; wait';
    const r = await runProcess(['sh', '-c', script], { timeoutMs: 300, kill: 'group' });
    expect(r.code).toBe(124);
    const all = pids(r.stdout);
    expect(all).toHaveLength(3);
    await sleepMs(100);
    for (const pid of all) expect(alive(pid), `pid ${pid}`).toBe(false);
  }, 20_000);
  it("kill 'process' (the default) ends only the process, as before: its children are not the runner's", async () => {
    const r = await runProcess(['sh', '-c', 'sleep 30 >/dev/null 2>&1 & echo $!; exec sleep 30'], { timeoutMs: 300 });
    expect(r.code).toBe(124);
    const [child] = pids(r.stdout);
    expect(alive(child!)).toBe(true);
    process.kill(child!, 'SIGKILL');
  }, 20_000);
  it('an empty argv is a programming error', async () => {
    await expect(async () => runProcess([])).rejects.toThrow(/empty argv/);
  });
});

describe('runProcessSync', () => {
  it('exit code, output, input, environment', () => {
    expect(runProcessSync(['sh', '-c', 'cat; echo err >&2; exit 5'], { input: 'in' })).toEqual({ code: 5, stdout: 'in', stderr: 'err\n', timedOut: false });
    expect(runProcessSync(['/usr/bin/env'], { env: { A: 'b' } }).stdout).toBe('A=b\n');
  });
  it('a timeout (SIGTERM) is code 124, timedOut', () => {
    const t0 = Date.now();
    expect(runProcessSync(['sleep', '30'], { timeoutMs: 300 })).toMatchObject({ code: 124, timedOut: true });
    expect(Date.now() - t0).toBeLessThan(5000);
  });
  it('not found is 127; killed by a signal is 128+N', () => {
    expect(runProcessSync(['/nonexistent/hvmctl-no-such-program'])).toEqual({ code: 127, stdout: '', stderr: '/nonexistent/hvmctl-no-such-program: not found\n', timedOut: false });
    expect(runProcessSync(['sh', '-c', 'kill -KILL $$']).code).toBe(137);
  });
});

describe('runAttached', () => {
  it("resolves with the exit code (128+N for a signal); a program that cannot start rejects", async () => {
    expect(await runAttached(['sh', '-c', 'exit 7'])).toBe(7);
    expect(await runAttached(['sh', '-c', 'kill -INT $$'])).toBe(130);
    await expect(runAttached(['/nonexistent/hvmctl-no-such-program'])).rejects.toThrow(/ENOENT/);
  });
});

describe('exitCode', () => {
  it.each([
    [0, null, 0],
    [3, null, 3],
    [null, 'SIGKILL', 137],
    [null, 'SIGTERM', 143],
    [null, 'SIGINT', 130],
  ] as const)('(%s, %s) is %s', (code, signal, want) => {
    expect(exitCode(code, signal)).toBe(want);
  });
});
