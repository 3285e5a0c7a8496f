// The daemons a hypervisor needs running (first stage, after the packages):
//   - where systemd is PID 1: the unit enabled at boot and running. A
//     socket-activated daemon counts as running while its socket listens:
//     libvirtd exits after 120 s without clients (`--timeout 120` in its unit)
//     and systemd starts it again on the next connection, so "inactive" is its
//     normal idle state, and virtlogd is only ever started through its socket;
//   - elsewhere (containers, the old lab) the documented fallback: if no
//     process of that name runs (`pgrep -x`), start the daemon directly.
//     Nothing then starts it at boot: the host's own start-up must, and apply
//     starts it again when it is not running.
// The NFS server's services are the nfs task's (tasks/ops/nfs.ts).
import type { HostSpec } from '../../src/inventory/types.ts';
import { osProfile, type Service } from '../../src/os/profiles.ts';
import { sh } from '../../src/shell.ts';
import { keyed, valueOf } from '../engine/keyed-facts.ts';
import type { Change, Fact, Task } from '../engine/types.ts';
import { initProcess, isSystemd, processIds } from '../facts/process.ts';
import { unitState } from '../facts/systemd-unit.ts';
import { TaskCheckError } from './task-error.ts';

export type { Service } from '../../src/os/profiles.ts';

/** Pure: the daemons `host` needs running: libvirt's and cron, by its OS profile. */
export function wantedServices(host: HostSpec): Service[] {
  if (host.role !== 'hypervisor') return [];
  const profile = osProfile(host);
  return [...profile.libvirt, profile.cron];
}

type ServiceFacts = Record<string, unknown> & { init: string };

/** PID 1, and per service its unit, its socket and its process, each under its fact's key. */
export function serviceFacts(host: HostSpec): Record<string, Fact<unknown>> {
  const perService = wantedServices(host).flatMap((s) => [
    unitState(s.unit),
    ...(s.socket === undefined ? [] : [unitState(s.socket)]),
    processIds(s.process),
  ]);
  return { init: initProcess, ...keyed(perService) };
}

/** Pure: the change that makes one service enabled and running, or undefined when it is. */
export function serviceChange(s: Service, facts: ServiceFacts): Change | undefined {
  if (!isSystemd(facts.init)) {
    const pids = valueOf(facts, processIds(s.process));
    if (pids !== undefined && pids.length > 0) return undefined;
    return { summary: `start ${s.process} (no systemd)`, commands: [{ script: s.start }] };
  }
  const unit = valueOf(facts, unitState(s.unit));
  const socket = s.socket === undefined ? undefined : valueOf(facts, unitState(s.socket));
  if (unit === undefined || (s.socket !== undefined && socket === undefined)) {
    throw new TaskCheckError('E_FACT', `PID 1 is systemd but the state of ${s.unit} was not read`, 'run apply again');
  }
  const enabled = unit.enabled && (socket?.enabled ?? true);
  const running = unit.active || (socket?.active ?? false);
  if (enabled && running) return undefined;
  return { summary: `${enabled ? '' : 'enable and '}start ${s.unit}`, commands: [{ script: sh`systemctl enable --now ${s.unit}` }] };
}

export const servicesTask: Task<ServiceFacts> = {
  name: 'services',
  tags: ['packages', 'services'],
  stage: 'packages',
  applies: (host) => wantedServices(host).length > 0,
  facts: (ctx) => serviceFacts(ctx.host) as { [K in keyof ServiceFacts]: Fact<ServiceFacts[K]> },
  plan: (ctx, facts) => {
    const services = wantedServices(ctx.host);
    const changes = services.map((s) => serviceChange(s, facts)).filter((c): c is Change => c !== undefined);
    const how = isSystemd(facts.init) ? 'enabled and running' : `running (no systemd: PID 1 is ${facts.init})`;
    return { changes, reason: `${services.map((s) => (isSystemd(facts.init) ? s.unit : s.process)).join(', ')} ${how}` };
  },
};
