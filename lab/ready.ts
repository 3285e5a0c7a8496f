// Waiting until lab hosts have booted: the host's init runs, its systemd has
// finished starting up (`systemctl is-system-running --wait`: running, or
// degraded with the failed units named), and its sshd accepts connections.
// Hosts are waited for side by side, each with the same deadline; a host
// whose supervisor died fails at once, with the end of its console.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hostEntry, runInHostAsync } from './enter.ts';
import { initPid, supervisorPid } from './host-process.ts';
import { LabError } from './lab-error.ts';
import { assertLabRoute } from '../src/connector/route-guard.ts';
import type { LabState } from './lab-record.ts';
import type { LabHost } from './topology.ts';
import { probePort } from './wait.ts';

export interface ReadyOptions {
  readonly timeoutMs: number;
  readonly sshdOnly?: boolean;
  readonly progress?: (line: string) => void;
  /** A host counts as booted only with an init other than these (a reboot's old one). */
  readonly notInit?: ReadonlyMap<string, number>;
}

export interface HostReady {
  readonly name: string;
  /** `running` or `degraded` (systemd's word), `sshd` without an init. */
  readonly state: string;
  readonly failedUnits: readonly string[];
  readonly ms: number;
}

export function consoleTail(h: Pick<LabHost, 'dir'>, lines = 8): string {
  try {
    return readFileSync(path.join(h.dir, 'console.log'), 'utf8').trim().split('\n').slice(-lines).join('\n') || '(empty)';
  } catch {
    return '(no console log)';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitHostReady(state: Pick<LabState, 'hierarchies'>, host: LabHost, o: ReadyOptions): Promise<HostReady> {
  const started = Date.now();
  const deadline = started + o.timeoutMs;
  const late = (what: string) =>
    new LabError('E_LAB_TIMEOUT', `${host.name}: ${what} after ${Math.round(o.timeoutMs / 1000)} s`, { hint: `the end of its console (${host.dir}/console.log):\n${consoleTail(host)}` });
  const notOld = (pid: number | undefined) => pid !== undefined && pid !== o.notInit?.get(host.name);
  while (!notOld(initPid(host))) {
    if (supervisorPid(host) === undefined) {
      throw new LabError('E_LAB_HOST', `${host.name} powered off while booting`, { hint: `the end of its console:\n${consoleTail(host)}` });
    }
    if (Date.now() > deadline) throw late('no init');
    await sleep(100);
  }
  let systemState = 'sshd';
  let failedUnits: string[] = [];
  if (!o.sshdOnly) {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw late(`systemd still starting (${systemState})`);
      // Before its bus is up systemctl fails at once; then --wait blocks until start-up is over.
      const r = await runInHostAsync(hostEntry(state, host), 'systemctl is-system-running --wait; systemctl --failed --plain --no-legend | cut -d" " -f1', {
        timeoutMs: Math.min(left, 60_000),
      }).catch((error: unknown) => ({ code: 1, stdout: '', stderr: String(error) }));
      const [first, ...rest] = r.stdout.trim().split('\n');
      systemState = first?.trim() || systemState;
      if (systemState === 'running' || systemState === 'degraded') {
        failedUnits = rest.map((l) => l.trim()).filter(Boolean);
        break;
      }
      await sleep(200);
    }
  }
  assertLabRoute(host.address);
  while (!(await probePort(host.address, 22))) {
    if (Date.now() > deadline) throw late('sshd does not accept connections');
    await sleep(100);
  }
  const ms = Date.now() - started;
  o.progress?.(`${host.name}: ${systemState === 'sshd' ? 'sshd up' : `systemd ${systemState}`}${failedUnits.length ? ` (failed: ${failedUnits.join(', ')})` : ''}, sshd answers (${(ms / 1000).toFixed(1)} s)`);
  return { name: host.name, state: systemState, failedUnits, ms };
}

export function waitHostsReady(state: Pick<LabState, 'hierarchies'>, hosts: readonly LabHost[], o: ReadyOptions): Promise<HostReady[]> {
  return Promise.all(hosts.map((h) => waitHostReady(state, h, o)));
}
