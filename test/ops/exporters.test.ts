import { describe, expect, it } from 'vitest';
import { parseInventory } from '../../src/inventory/load.ts';
import { wantedFlows } from '../../src/render/firewall-flows.ts';
import { userGroups } from '../../tasks/facts/user-groups.ts';
import { exporterChanges, exportersTask, type ExporterFacts } from '../../tasks/ops/exporters.ts';
import { allDebianPackages } from '../../src/os/packages.ts';
import { ctxFor, host, inventory, scripts } from './ops-support.ts';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const file = fileURLToPath(new URL('../../inventory.yaml', import.meta.url));
const withProm = parseInventory(
  `${readFileSync(file, 'utf8')}\n`.replace(/^balancer:\n/m, 'balancer:\n  prometheus:\n    scrapers: [172.21.3.13]\n'),
  file,
);
const up = { enabled: true, active: true };
const done: ExporterFacts = {
  installed: new Set(['prometheus-node-exporter', 'prometheus-libvirt-exporter']),
  groups: ['prometheus', 'libvirt'],
  init: 'systemd',
  nodeUnit: up,
  libvirtUnit: up,
};

describe('Prometheus exporters on the hypervisors', () => {
  it('only with balancer.prometheus, only on hypervisors', () => {
    expect(withProm.balancer.prometheus).toEqual({ scrapers: ['172.21.3.13'], window: 60, maxAge: 60, nodeExporterPort: 9100, libvirtExporterPort: 9177 });
    expect(exportersTask.applies(host('kvmnode1'), inventory)).toBe(false);
    expect(exportersTask.applies(host('kvmnode1', withProm), withProm)).toBe(true);
    expect(exportersTask.applies(host('kvmstorage', withProm), withProm)).toBe(false);
    expect(allDebianPackages()).toEqual(expect.arrayContaining(['prometheus-node-exporter', 'prometheus-libvirt-exporter']));
  });

  it('installed, in group libvirt and running: nothing to do, with the reason', () => {
    const r = exportersTask.plan(ctxFor('kvmnode1', { inventory: withProm }), done);
    expect(r).toEqual({ changes: [], reason: 'prometheus-node-exporter and prometheus-libvirt-exporter installed and running; prometheus reads libvirt' });
  });

  it('a bare host: install, then the group, then enable both, in that order', () => {
    const bare: ExporterFacts = { installed: new Set(), groups: undefined, init: 'systemd', nodeUnit: { enabled: false, active: false }, libvirtUnit: { enabled: false, active: false } };
    const changes = exporterChanges(host('kvmnode1'), bare);
    expect(changes.map((c) => c.summary)).toEqual([
      'install prometheus-node-exporter prometheus-libvirt-exporter',
      'let the libvirt exporter (user prometheus) read libvirt: add it to group libvirt',
      'enable and start prometheus-node-exporter',
      'enable and start prometheus-libvirt-exporter',
    ]);
    const s = scripts({ changes });
    expect(s[0]).toMatch(/apt-get .* install -y -q --no-install-recommends prometheus-node-exporter prometheus-libvirt-exporter/);
    expect(s.slice(1)).toEqual([
      'usermod -a -G libvirt prometheus',
      'systemctl try-restart prometheus-libvirt-exporter',
      'systemctl enable --now prometheus-node-exporter',
      'systemctl enable --now prometheus-libvirt-exporter',
    ]);
  });

  it('installed before libvirt (the user has no libvirt group): add it and restart the exporter, nothing else', () => {
    const changes = exporterChanges(host('kvmnode1'), { ...done, groups: ['prometheus'] });
    expect(scripts({ changes })).toEqual(['usermod -a -G libvirt prometheus', 'systemctl try-restart prometheus-libvirt-exporter']);
  });

  it('a stopped exporter is started', () => {
    expect(scripts({ changes: exporterChanges(host('kvmnode1'), { ...done, nodeUnit: { enabled: true, active: false } }) })).toEqual(['systemctl enable --now prometheus-node-exporter']);
  });

  it('parses id -nG, and no such user', () => {
    const prometheusGroups = userGroups('prometheus');
    expect(prometheusGroups.command).toBe('id -nG prometheus 2>/dev/null || echo no-such-user');
    expect(prometheusGroups.parse({ code: 0, stdout: 'prometheus libvirt\n', stderr: '' })).toEqual(['prometheus', 'libvirt']);
    expect(prometheusGroups.parse({ code: 0, stdout: 'no-such-user\n', stderr: '' })).toBeUndefined();
  });

  it("the firewall opens the exporters' ports on hypervisors to each scraper (/32) and to nobody else", () => {
    const flows = wantedFlows(withProm, host('kvmnode1', withProm), undefined);
    const exporter = flows.filter((f) => /exporter/.test(f.what));
    expect(exporter).toEqual([
      { source: '172.21.3.13/32', proto: 'tcp', ports: [9100, 9100], what: 'node_exporter 9100 from scraper 172.21.3.13' },
      { source: '172.21.3.13/32', proto: 'tcp', ports: [9177, 9177], what: 'libvirt exporter 9177 from scraper 172.21.3.13' },
    ]);
    expect(wantedFlows(inventory, host('kvmnode1'), undefined).filter((f) => /exporter/.test(f.what))).toEqual([]);
    expect(wantedFlows(withProm, host('kvmstorage', withProm), undefined).filter((f) => /exporter/.test(f.what))).toEqual([]);
  });
});
