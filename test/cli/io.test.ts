// `hvmctl … | head`: a reader that closes the pipe early ends neither the
// command nor its exit code, and prints no stack trace. Run on the real
// command: its end of each pipe is closed before it writes anything.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/hvmctl.js', import.meta.url).pathname;

/** Runs hvmctl with the read end of `closed` shut at once; returns the exit code and what the other stream said. */
function run(args: string[], closed: 'stdout' | 'stderr'): Promise<{ code: number | null; other: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child[closed].destroy();
  const open = closed === 'stdout' ? child.stderr : child.stdout;
  let other = '';
  open.setEncoding('utf8').on('data', (s: string) => (other += s));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, other })));
}

describe('output to a pipe its reader closed', () => {
  it('stdout: --help still exits 0, and nothing lands on stderr', async () => {
    expect(await run(['--help'], 'stdout')).toEqual({ code: 0, other: '' });
  }, 60_000);
  it('stderr: an unknown command still exits 64 (usage), and nothing lands on stdout', async () => {
    expect(await run(['no-such-command'], 'stderr')).toEqual({ code: 64, other: '' });
  }, 60_000);
});
