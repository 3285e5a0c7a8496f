// The unit-state fact on systemctl's real answers, and every systemd unit
// name apply uses on Debian checked against the unit files Debian 12's
// packages ship (captured: test/fixtures/captured/README.md).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { inventory } from '../ops/ops-support.ts';
import { parseUnitState, unitState } from '../../tasks/facts/systemd-unit.ts';
import { initProcess, isSystemd, systemdIsPid1 } from '../../tasks/facts/process.ts';
import { osProfiles } from '../../src/os/profiles.ts';
import { kernelNfsUnit } from '../../tasks/ops/nfs.ts';
import { SERVICE_UNIT, TIMER_UNIT } from '../../tasks/ops/balancer.ts';
import { allDebianPackages, wantedPackages } from '../../src/os/packages.ts';
import { wantedServices } from '../../tasks/ops/services.ts';
import { captured } from './captured.ts';

/** `unit state exit` lines of systemctl-is-enabled-bookworm.txt, by section. */
function isEnabledCapture(): { before: Map<string, string>; after: Map<string, string> } {
  const sections: Map<string, string>[] = [];
  for (const line of captured('systemctl-is-enabled-bookworm.txt').split('\n')) {
    if (line.startsWith('#')) sections.push(new Map());
    else if (line.trim() !== '') {
      const [unit = '', state = ''] = line.split(' ');
      sections.at(-1)?.set(unit, state);
    }
  }
  const [before = new Map(), after = new Map()] = sections;
  return { before, after };
}

const answer = (enabled: string, active: string) => ({ code: 0, stdout: `enabled=${enabled}\nactive=${active}\n`, stderr: '' });

describe('unit state fact', () => {
  const { before, after } = isEnabledCapture();

  it.each([...after.keys()])('%s: enabled after `systemctl enable` exactly when systemctl says enabled', (unit) => {
    const state = after.get(unit) ?? '';
    expect(parseUnitState(unit, answer(state, 'active'))?.enabled).toBe(state === 'enabled');
  });

  it('an alias, an indirect unit and a unit whose package is missing are not enabled', () => {
    expect(before.get('nfs-kernel-server')).toBe('alias');
    expect(after.get('nfs-kernel-server')).toBe('alias'); // even with nfs-server enabled
    // indirect says nothing about the unit it points to: the same before and after enabling virtlogd.socket
    expect(before.get('virtlogd')).toBe('indirect');
    expect(after.get('virtlogd')).toBe('indirect');
    expect([before.get('virtlogd.socket'), after.get('virtlogd.socket')]).toEqual(['disabled', 'enabled']);
    expect(after.get('no-such-unit')).toBe('');
    for (const s of ['alias', 'indirect', '', 'disabled', 'masked', 'enabled-runtime']) expect(parseUnitState('u', answer(s, 'active'))?.enabled).toBe(false);
    expect(parseUnitState('u', answer('static', 'inactive'))).toEqual({ enabled: true, active: false });
  });

  it('no systemd is undefined; garbage is an error naming the unit', () => {
    expect(parseUnitState('x', { code: 0, stdout: 'no-systemd\n', stderr: '' })).toBeUndefined();
    expect(parseUnitState('x', answer('enabled', 'active'))).toEqual({ enabled: true, active: true });
    expect(() => parseUnitState('x', { code: 0, stdout: 'huh\n', stderr: '' })).toThrow(/unit x/);
    expect(unitState('libvirtd').command).toContain('systemctl is-enabled libvirtd');
  });

  it('asks whether PID 1 is systemd the way every other command does (systemdIsPid1), and agrees with initProcess on this machine', () => {
    expect(unitState('libvirtd').command.startsWith(`if ! ${systemdIsPid1}; then echo no-systemd; exit 0; fi; `)).toBe(true);
    const run = (command: string) => {
      const r = spawnSync('sh', ['-c', command], { encoding: 'utf8' });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    const systemdHere = isSystemd(initProcess.parse(run(initProcess.command)));
    expect(parseUnitState('libvirtd', run(unitState('libvirtd').command)) === undefined).toBe(!systemdHere);
    expect(run(systemdIsPid1).code === 0).toBe(systemdHere);
  });
});

describe('Debian unit names are real unit files of the packages apply installs', () => {
  const files = new Map<string, { pkg: string; alias?: string }>();
  for (const line of captured('debian12-unit-files.txt').split('\n').filter(Boolean)) {
    const [pkg = '', unit = '', arrow, target] = line.split(' ');
    files.set(unit, arrow === '->' && target !== undefined ? { pkg, alias: target } : { pkg });
  }
  const named = (u: string) => (u.includes('.') ? u : `${u}.service`);
  const storage = inventory.hosts.find((h) => h.role === 'storage')!;
  const node = inventory.hosts.find((h) => h.role === 'hypervisor')!;
  const hypervisorPackages = wantedPackages(inventory, node);

  const namedUnits = [
    ...wantedServices(node).flatMap((s) => [s.unit, ...(s.socket === undefined ? [] : [s.socket])]),
    kernelNfsUnit('debian'),
    'nfs-ganesha',
    ...osProfiles.debian.firewallLoader.units,
    osProfiles.debian.prometheusExporters!.nodeUnit,
    osProfiles.debian.prometheusExporters!.libvirtUnit,
    TIMER_UNIT,
  ];

  it('apply names no unit that answers `indirect` (it could never look enabled) or `alias`', () => {
    const { before, after } = isEnabledCapture();
    const answered = namedUnits.filter((u) => after.has(u));
    expect(answered.length).toBeGreaterThan(5);
    for (const u of answered) expect([before.get(u), after.get(u)], u).not.toContain('indirect');
    for (const u of answered) expect([before.get(u), after.get(u)], u).not.toContain('alias');
  });

  it.each(namedUnits.filter((u) => u !== TIMER_UNIT))('%s', (unit) => {
    const file = files.get(named(unit));
    expect(file, `${unit} is shipped by no package apply installs`).toBeDefined();
    expect(file?.alias, `${unit} is an alias`).toBeUndefined();
    expect(allDebianPackages()).toContain(file?.pkg);
  });

  it('libvirtd and virtlogd come from libvirt-daemon-system, which a hypervisor gets', () => {
    expect(files.get('libvirtd.service')?.pkg).toBe('libvirt-daemon-system');
    expect(files.get('virtlogd.socket')?.pkg).toBe('libvirt-daemon-system');
    expect(hypervisorPackages).toContain('libvirt-daemon-system');
    expect(wantedPackages(inventory, storage)).not.toContain('libvirt-daemon-system');
  });

  it('the balancer timer is apply\'s own unit, not a package\'s', () => {
    expect(files.has(TIMER_UNIT) || files.has(SERVICE_UNIT)).toBe(false);
  });
});
