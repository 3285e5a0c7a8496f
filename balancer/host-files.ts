// Reading a few small files (/proc/stat, /proc/meminfo, cgroup counters) on a
// hypervisor: local files for the host the agent runs on, one `head` through
// the peer's connector for the others (peers.ts: the system ssh over the root
// SSH trust between hypervisors that apply sets up, host keys checked). A
// missing file is `undefined`; an unreachable host throws.
import { readFile } from 'node:fs/promises';
import type { SshTarget } from '../src/connector/system-ssh.ts';
import { ConnectError } from '../src/errors.ts';
import { sh } from '../src/shell.ts';
import type { Peers } from './peers.ts';

export interface HostFiles {
  read(host: string, paths: readonly string[]): Promise<Map<string, string | undefined>>;
}

/** A hypervisor of the configuration: its name, FQDN and the port its sshd listens on (the inventory's sshd port; 22 when the file does not say). */
export type HostAddress = SshTarget;

export function createHostFiles(self: string, peers: Peers, timeoutMs = 8_000): HostFiles {
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
      const peer = peers(host);
      if (!peer) throw new ConnectError(host, 'not in the balancer configuration');
      // The remote shell parses the command line: every path is quoted.
      const result = await peer.run(sh`head -n 100000 -v ${paths}`, { timeoutMs });
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
