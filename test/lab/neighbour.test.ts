// End-to-end: what a guest on the same bridge can reach of the bootstrapped
// cluster (after apply.test.ts). The guests share the hosts' segment, so the
// test plays one: a network namespace with an address of the cluster network
// that is no host's, on the lab bridge. From there the VM image export can be
// neither listed nor mounted, and no host's sshd, libvirt, migration or NFS
// port answers, over IPv4 or over IPv6 link-local. The same probes from a
// hypervisor succeed, so a refusal is the firewall's and the export's doing,
// not a dead service. Everything it creates is named hvmlab-* and on the lab
// bridge, so nothing leaves the lab and `lab down` removes what a crash left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocal } from '../../lab/local.ts';
import { labExec, labUnavailableReason, mustLabExec } from './support.ts';

const skip = labUnavailableReason();
const NS = 'hvmlab-intruder';
const VETH = 'hvmlab-vx';
const INTRUDER = '172.21.3.40';
const hosts = { kvmstorage: '172.21.3.13', kvmnode1: '172.21.3.10', kvmnode2: '172.21.3.11', kvmnode3: '172.21.3.12' } as const;
const hypervisors = ['kvmnode1', 'kvmnode2', 'kvmnode3'] as const;

function inIntruder(argv: readonly string[]): { code: number; stdout: string; stderr: string } {
  return runLocal(['ip', 'netns', 'exec', NS, ...argv], { timeoutMs: 30_000 });
}

/** A TCP connect from the intruder, bounded at 3 s: true when something answered (connected or refused). */
function tcpAnswers(address: string, port: number): boolean {
  const r = inIntruder(['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${address}/${port}`]);
  // 0: connected; 1 with "Connection refused": a host answered with a reset. 124: no answer (dropped).
  return r.code === 0 || /refused/i.test(r.stderr);
}

describe.skipIf(skip !== undefined)(`a guest on the bridge${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => {
    runLocal(['ip', 'netns', 'delete', NS]);
    for (const argv of [
      ['ip', 'netns', 'add', NS],
      ['ip', 'link', 'add', VETH, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS],
      ['ip', 'link', 'set', VETH, 'master', 'hvmlab0', 'up'],
      ['ip', '-n', NS, 'addr', 'add', `${INTRUDER}/26`, 'dev', 'eth0'],
      ['ip', '-n', NS, 'link', 'set', 'lo', 'up'],
      ['ip', '-n', NS, 'link', 'set', 'eth0', 'up'],
    ]) {
      const r = runLocal(argv);
      if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
    }
  });

  afterAll(() => {
    runLocal(['ip', 'netns', 'delete', NS]);
    runLocal(['ip', 'link', 'delete', VETH]);
  });

  it('reaches the hosts at all: their MACs answer ARP (the drops below are the firewall, not a missing link)', () => {
    for (const address of Object.values(hosts)) tcpAnswers(address, 22);
    const neigh = inIntruder(['ip', '-4', 'neigh', 'show', 'dev', 'eth0']).stdout;
    for (const address of Object.values(hosts)) expect(neigh, address).toMatch(new RegExp(`^${address.replace(/\./g, '\\.')} lladdr 52:54:00:`, 'm'));
  });

  it('cannot list or mount the VM image export, which a hypervisor can', () => {
    const url = `nfs://${hosts.kvmstorage}/srv/kvmshared`;
    expect(mustLabExec('kvmnode2', `nfs-ls ${url} >/dev/null && echo listed`).trim()).toBe('listed');
    const list = inIntruder(['timeout', '-k', '2', '15', 'nfs-ls', url]);
    expect(list.code, list.stdout).not.toBe(0);
    // Mounting over NFS starts with the same MOUNT/NFS calls nfs-ls makes: a copy of a disk is one nfs-cp away.
    const copy = inIntruder(['timeout', '-k', '2', '15', 'nfs-cp', `${url}/server1.img`, '/dev/null']);
    expect(copy.code).not.toBe(0);
    expect(inIntruder(['timeout', '-k', '2', '5', 'rpcinfo', '-p', hosts.kvmstorage]).code).not.toBe(0);
  });

  it("no host's sshd, libvirt, migration or NFS port answers it, while they answer a hypervisor", () => {
    for (const [name, address] of Object.entries(hosts)) expect(tcpAnswers(address, 22), `${name}:22`).toBe(false);
    for (const h of hypervisors) {
      expect(tcpAnswers(hosts[h], 16509), `${h}:16509`).toBe(false);
      expect(tcpAnswers(hosts[h], 49152), `${h}:49152`).toBe(false);
    }
    for (const port of [111, 2049, 20048]) expect(tcpAnswers(hosts.kvmstorage, port), `kvmstorage:${port}`).toBe(false);
    // The control: the same ports from a hypervisor.
    for (const port of [22, 111, 2049, 20048]) {
      expect(labExec('kvmnode1', `timeout 3 bash -c 'exec 3<>/dev/tcp/${hosts.kvmstorage}/${port}'`).code, `kvmnode1 -> kvmstorage:${port}`).toBe(0);
    }
  });

  it("no host's sshd answers it over IPv6 link-local either", () => {
    for (const name of Object.keys(hosts)) {
      const ll = mustLabExec(name, "ip -6 -o addr show dev br0 scope link | awk '{print $4}' | cut -d/ -f1").trim();
      expect(ll, name).toMatch(/^fe80:/);
      const r = inIntruder(['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${ll}%eth0/22`]);
      expect(r.code === 0 || /refused/i.test(r.stderr), `${name} [${ll}]:22`).toBe(false);
      // The control: sshd listens on :: (a host reaches its own link-local address).
      expect(labExec(name, `timeout 3 bash -c 'exec 3<>/dev/tcp/${ll}%br0/22'`).code, `${name} to itself`).toBe(0);
    }
  });
});
