// Reading a few small files (/proc/stat, /proc/meminfo, cgroup counters) on a
// hypervisor: local files for the host the agent runs on, one `ssh head` for
// the others (the root SSH trust between hypervisors that apply sets up, host
// keys checked). A missing file is `undefined`; an unreachable host throws.
import { readFile } from 'node:fs/promises';
import { ConnectError } from '../src/errors.ts';
import { sh } from '../src/shell.ts';
import type { Exec } from './exec.ts';

export interface HostFiles {
  read(host: string, paths: readonly string[]): Promise<Map<string, string | undefined>>;
}

export interface HostAddress {
  readonly name: string;
  readonly fqdn: string;
  /** The port the host's sshd listens on (the inventory's sshd port; 22 when the file does not say). */
  readonly sshPort?: number;
}

/** ssh as root to a hypervisor's sshd port; `command` is one shell command line, built with `sh`. */
export function sshArgv(fqdn: string, command: string, port = 22): string[] {
  return ['ssh', '-p', String(port), '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'StrictHostKeyChecking=yes', `root@${fqdn}`, '--', command];
}

export function createHostFiles(self: string, hosts: readonly HostAddress[], exec: Exec, timeoutMs = 8_000): HostFiles {
  return {
    async read(host, paths) {
      const out = new Map<string, string | undefined>();
      if (host === self) {
        await Promise.all(
          paths.map(async (p) => {
            out.set(p, await readFile(p, 'utf8').catch(() => undefined));
          }),
        );
        return out;
      }
      const address = hosts.find((h) => h.name === host);
      if (!address) throw new ConnectError(host, 'not in the balancer configuration');
      // The remote shell parses the command line: every path is quoted.
      const result = await exec(sshArgv(address.fqdn, sh`head -n 100000 -v ${paths}`, address.sshPort), { timeoutMs });
      if (result.timedOut || result.code === 255 || (result.code !== 0 && result.stdout === '')) {
        throw new ConnectError(host, `cannot read ${paths.join(' ')} over SSH: ${result.timedOut ? 'timed out' : result.stderr.trim().split('\n').pop() ?? `exit ${result.code}`}`, {
          hint: 'check that this hypervisor trusts the balancer host (hvmctl apply sets up root SSH keys)',
        });
      }
      for (const [path, content] of splitHeadOutput(result.stdout)) out.set(path, content);
      for (const p of paths) if (!out.has(p)) out.set(p, undefined);
      return out;
    },
  };
}

/** `head -v FILE...` prints `==> FILE <==` before each file, a blank line between. */
export function splitHeadOutput(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = text.split(/^==> (.*) <==\n/m);
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const body = parts[i + 1]!;
    out.set(parts[i]!, i + 2 < parts.length ? body.replace(/\n$/, '') : body);
  }
  return out;
}
