// Where apply connects (ssh_host, ssh_port) and the port sshd listens on
// (sshd_port): the loader's defaults and its refusals, with their locations.
import { describe, expect, it } from 'vitest';
import { InventoryError } from '../../src/inventory/inventory-error.ts';
import { parseInventory } from '../../src/inventory/load.ts';

const inventory = (ssh: string, hv: string) => `cluster:
  domain: example.org
  network: 10.1.0.0/24
  gateway: 10.1.0.254
ssh:
  port: 22
${ssh}storage:
  hosts:
    nas:
      address: 10.1.0.5
      mac: "aa:bb:cc:00:00:05"
hypervisors:
  hosts:
    hv:
      address: 10.1.0.11
      mac: "aa:bb:cc:00:00:11"
${hv}`;

function issues(text: string): string[] {
  try {
    parseInventory(text, 'x.yaml');
  } catch (e) {
    if (e instanceof InventoryError) return e.issues.map((i) => `${i.line}:${i.column} ${i.message}`);
    throw e;
  }
  throw new Error('accepted');
}

const ports = (ssh: string, hv: string) => parseInventory(inventory(ssh, hv), 'x.yaml').hosts.map((h) => [h.name, h.sshHost, h.sshPort, h.sshdPort]);

describe('the port sshd listens on', () => {
  it.each([
    ['nothing said: ssh.port', '', '', [['nas', '10.1.0.5', 22, 22], ['hv', '10.1.0.11', 22, 22]]],
    ['ssh_port without ssh_host: apply reaches sshd itself there', '', '      ssh_port: 2200\n', [['nas', '10.1.0.5', 22, 22], ['hv', '10.1.0.11', 2200, 2200]]],
    ['a port forward: ssh_host + ssh_port, sshd_port said', '', '      ssh_host: gw.example.org\n      ssh_port: 2201\n      sshd_port: 22\n', [['nas', '10.1.0.5', 22, 22], ['hv', 'gw.example.org', 2201, 22]]],
    ['ssh.sshd_port for every host behind one bastion', '  sshd_port: 2222\n', '      ssh_host: gw.example.org\n      ssh_port: 2201\n', [['nas', '10.1.0.5', 22, 2222], ['hv', 'gw.example.org', 2201, 2222]]],
    ['ssh_host on the default port: ssh.port', '', '      ssh_host: hv.mgmt.example.org\n', [['nas', '10.1.0.5', 22, 22], ['hv', 'hv.mgmt.example.org', 22, 22]]],
  ])('%s', (_what, ssh, hv, expected) => {
    expect(ports(ssh, hv)).toEqual(expected);
  });

  it('a port forward without sshd_port is refused at ssh_port: the firewall would open the forwarded port and lock the operator out', () => {
    expect(issues(inventory('', '      ssh_host: gw.example.org\n      ssh_port: 2201\n'))).toEqual([
      "18:17 hypervisors.hosts.hv.ssh_port: apply connects to port 2201 of gw.example.org (ssh_host), so the port hv's own sshd listens on is not known; the firewall opens it and the other hypervisors connect to it: set hypervisors.hosts.hv.sshd_port (or ssh.sshd_port)",
    ]);
  });

  it('an sshd port the firewall opens for something else is refused where it is set', () => {
    // libvirtd's TCP port is opened only when listed (hvmctl migrates over qemu+ssh)
    expect(() => parseInventory(inventory('', '      sshd_port: 16509\n'), 'x.yaml')).not.toThrow();
    expect(issues(`${inventory('', '      sshd_port: 16509\n')}firewall:\n  libvirt_ports: [16509]\n`)).toEqual([
      "17:18 hypervisors.hosts.hv.sshd_port: hv's sshd port 16509 is libvirt's port (firewall.libvirt_ports); the firewall would open it for both",
    ]);
    expect(issues(inventory('  sshd_port: 2049\n', ''))).toEqual([
      "7:14 ssh.sshd_port: nas's sshd port 2049 is an NFS port (firewall.nfs_ports); the firewall would open it for both",
    ]);
    expect(issues(inventory('', '      ssh_port: 49160\n'))[0]).toMatch(/^17:17 hypervisors\.hosts\.hv\.ssh_port: hv's sshd port 49160 is in the migration range/);
  });

  it('a bad sshd_port is a schema problem with its location', () => {
    expect(issues(inventory('', '      sshd_port: 0\n'))[0]).toMatch(/^17:18 hypervisors\.hosts\.hv\.sshd_port: /);
  });
});
