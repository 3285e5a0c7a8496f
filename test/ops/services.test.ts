import { describe, expect, it } from 'vitest';
import { serviceChange, servicesTask, wantedServices } from '../../tasks/ops/services.ts';
import { ctxFor, host, scripts } from './ops-support.ts';

const node1 = host('kvmnode1');
const unit = (enabled: boolean, active: boolean) => ({ enabled, active });
/** systemd facts with every unit and socket of kvmnode1's services in one state. */
function systemdFacts(over: Record<string, { enabled: boolean; active: boolean }> = {}) {
  const facts: Record<string, unknown> = { init: 'systemd' };
  for (const s of wantedServices(node1)) {
    facts[`unit:${s.unit}`] = unit(true, true);
    if (s.socket) facts[`unit:${s.socket}`] = unit(true, true);
    facts[`pgrep:${s.process}`] = [];
  }
  for (const [u, state] of Object.entries(over)) facts[`unit:${u}`] = state;
  return facts as Record<string, unknown> & { init: string };
}

describe('services', () => {
  it('hypervisors only: virtlogd through its socket, libvirtd with its socket, the OS family\'s cron', () => {
    expect(wantedServices(node1).map((s) => [s.unit, s.socket])).toEqual([
      ['virtlogd.socket', undefined],
      ['libvirtd', 'libvirtd.socket'],
      ['cron', undefined],
    ]);
    expect(wantedServices({ ...node1, osFamily: 'redhat' }).at(-1)?.unit).toBe('crond');
    expect(servicesTask.applies(host('kvmstorage'), ctxFor('kvmstorage').inventory)).toBe(false);
    expect(Object.keys(servicesTask.facts(ctxFor('kvmnode1'))).sort()).toEqual(
      ['init', 'pgrep:cron', 'pgrep:libvirtd', 'pgrep:virtlogd', 'unit:cron', 'unit:libvirtd', 'unit:libvirtd.socket', 'unit:virtlogd.socket'].sort(),
    );
  });

  it('systemd: all enabled and running is a no-op', () => {
    const r = servicesTask.plan(ctxFor('kvmnode1'), systemdFacts());
    expect(r).toEqual({ changes: [], reason: 'virtlogd.socket, libvirtd, cron enabled and running' });
  });

  it('systemd: libvirtd idle (exited after --timeout 120) while its socket listens is running, no change', () => {
    const r = servicesTask.plan(ctxFor('kvmnode1'), systemdFacts({ libvirtd: unit(true, false) }));
    expect(r.changes).toEqual([]);
  });

  it('systemd: a disabled or stopped unit, or a disabled socket, is enabled and started', () => {
    const r = servicesTask.plan(
      ctxFor('kvmnode1'),
      systemdFacts({ 'virtlogd.socket': unit(false, false), libvirtd: unit(true, false), 'libvirtd.socket': unit(false, false), cron: unit(true, false) }),
    );
    expect(r.changes.map((c) => c.summary)).toEqual(['enable and start virtlogd.socket', 'enable and start libvirtd', 'start cron']);
    expect(scripts(r)).toEqual(['systemctl enable --now virtlogd.socket', 'systemctl enable --now libvirtd', 'systemctl enable --now cron']);
  });

  it('no systemd: starts what does not run, leaves what runs', () => {
    const facts = { init: 'process_api', 'pgrep:virtlogd': [41], 'pgrep:libvirtd': [], 'pgrep:cron': [77] } as Record<string, unknown> & { init: string };
    const r = servicesTask.plan(ctxFor('kvmnode1'), facts);
    expect(scripts(r)).toEqual(['mkdir -p /var/log/libvirt /run/libvirt && libvirtd -d']);
    expect(r.reason).toBe('virtlogd, libvirtd, cron running (no systemd: PID 1 is process_api)');
  });

  it('systemd without the unit state read is an error, not a silent no-op', () => {
    const s = wantedServices(node1)[1]!;
    expect(() => serviceChange(s, { init: 'systemd' })).toThrow(/state of libvirtd was not read/);
  });
});
