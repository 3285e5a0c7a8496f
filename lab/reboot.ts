// `hvmctl lab reboot HOST|--all`: a clean reboot, as `systemctl reboot` on a
// server does it. The host's systemd stops every service and process, then
// asks nspawn to reboot (exit 133); the supervisor plugs a fresh network in
// (nothing of the old boot's addresses, bridges or firewall survives, as
// after a real power cycle) and boots the same file system again. Done when
// the new init has finished starting up and sshd answers.
import { hostEntry, runInHostAsync } from './enter.ts';
import { initPid } from './host-process.ts';
import { LabError } from './lab-error.ts';
import type { HostReady } from './ready.ts';
import { waitHostReady } from './ready.ts';
import type { LabHostState, LabState } from './lab-record.ts';

export const REBOOT_TIMEOUT_MS = 180_000;

export async function labReboot(
  state: LabState,
  hosts: readonly LabHostState[],
  progress: (line: string) => void,
  timeoutMs = REBOOT_TIMEOUT_MS,
): Promise<HostReady[]> {
  if (state.sshdOnly) throw new LabError('E_LAB_REBOOT', 'an --sshd-only lab has no init to reboot', { hint: 'bring the lab up without --sshd-only' });
  const old = new Map<string, number>();
  for (const h of hosts) old.set(h.name, hostEntry(state, h).initPid);
  return Promise.all(
    hosts.map(async (h) => {
      const entry = hostEntry(state, h);
      progress(`${h.name}: systemctl reboot`);
      // The command may be cut off as the host goes down; whether the init
      // changed is what counts, so only a refusal while still up is an error.
      const r = await runInHostAsync(entry, 'systemctl reboot', { timeoutMs: 30_000 });
      if (r.code !== 0 && initPid(h) === entry.initPid && /Failed|refused|denied/i.test(r.stderr)) {
        throw new LabError('E_LAB_REBOOT', `${h.name}: systemctl reboot failed: ${r.stderr.trim()}`);
      }
      return waitHostReady(state, h, { timeoutMs, notInit: old, progress });
    }),
  );
}
