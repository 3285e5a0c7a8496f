// The system-ssh connector (the balancer agent's way to its peers): the exact
// ssh command line it runs, and the connector contract on its result.
import { describe, expect, it } from 'vitest';
import { sshArgv, SystemSshConnector } from '../../src/connector/system-ssh.ts';
import type { ProcessOptions, ProcessResult, RunProcess } from '../../src/process.ts';

function recording(result: ProcessResult): { run: RunProcess; calls: { argv: readonly string[]; options: ProcessOptions | undefined }[] } {
  const calls: { argv: readonly string[]; options: ProcessOptions | undefined }[] = [];
  return { calls, run: async (argv, options) => (calls.push({ argv, options }), result) };
}

describe('SystemSshConnector', () => {
  it('runs ssh as root to the peer\'s sshd port, batch mode, host key checked, the command as one argument', async () => {
    const { run, calls } = recording({ code: 0, stdout: 'ok\n', stderr: '', timedOut: false });
    const c = new SystemSshConnector({ name: 'kvmnode2', fqdn: 'kvmnode2.localdomain', sshPort: 2200 }, run);
    expect(c.host).toBe('kvmnode2');
    expect(await c.run("head -v '/x y'", { timeoutMs: 8000 })).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
    expect(calls).toEqual([
      {
        argv: ['ssh', '-p', '2200', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'StrictHostKeyChecking=yes', 'root@kvmnode2.localdomain', '--', "head -v '/x y'"],
        options: { timeoutMs: 8000 },
      },
    ]);
  });
  it('port 22 when the configuration names none; input passed to ssh\'s stdin', async () => {
    const { run, calls } = recording({ code: 0, stdout: '', stderr: '', timedOut: false });
    await new SystemSshConnector({ name: 'n', fqdn: 'n.d' }, run).run('cat', { input: 'data' });
    expect(calls[0]?.argv.slice(0, 3)).toEqual(['ssh', '-p', '22']);
    expect(calls[0]?.options).toEqual({ input: 'data' });
    expect(sshArgv('h', 'true')).toEqual(['ssh', '-p', '22', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'StrictHostKeyChecking=yes', 'root@h', '--', 'true']);
  });
  it('a timeout is code 124, timedOut, and says so in stderr (the connector contract)', async () => {
    const { run } = recording({ code: 124, stdout: 'part', stderr: '', timedOut: true });
    expect(await new SystemSshConnector({ name: 'n', fqdn: 'n.d' }, run).run('sleep 9', { timeoutMs: 500 })).toEqual({
      code: 124,
      stdout: 'part',
      stderr: 'hvmctl: timed out after 500 ms\n',
      timedOut: true,
    });
  });
});
