// End-to-end: what other operators, a stale hypervisor and a hung host meet
// on the bootstrapped cluster (after apply.test.ts and neighbour.test.ts).
//   - Rules apply does not own in INPUT (another operator's, a jump to a
//     chain like libvirt's) survive apply, named by plan; a wide-open ACCEPT
//     that would undo the default drop against the guests is removed.
//   - SSH trust between hypervisors is one block, exactly the hypervisors,
//     each key usable only from its own hypervisor's address.
//   - A host whose libvirtd hangs fails with the step named, within the
//     bound given, while the other hosts finish.
//   - An operator who logs in as a user with password-less sudo gets what a
//     root login gets; without it, a clear refusal and nothing done.
//   - Lines an earlier apply put in /etc/fstab (the images' mount, the
//     lockspace's) go once the inventory wants neither; the host's own lines
//     stay.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { labExec, labUnavailableReason, mustLabExec, parseJsonOutput as json, repoRoot, runHvmctl as hvmctl } from './support.ts';

const skip = labUnavailableReason();

interface Row {
  host: string;
  task: string;
  status: string;
  reason: string;
  changes?: { summary: string }[];
}

const rowsOf = (doc: unknown): Row[] => (doc as { results: Row[] }).results;

describe.skipIf(skip !== undefined)(`other operators, stale keys and hung hosts${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it("keeps another operator's rule and a jump to another chain, removes a wide-open ACCEPT, and plan names each", () => {
    mustLabExec(
      'kvmnode1',
      [
        'iptables -N SITE_INP',
        'iptables -I INPUT 1 -j SITE_INP',
        "iptables -A INPUT -s 192.0.2.7/32 -p tcp -m tcp --dport 22 -m comment --comment 'jump host' -j ACCEPT",
        'iptables -A INPUT -j ACCEPT',
      ].join(' && '),
    );
    try {
      const plan = hvmctl(['plan', '--json', '--limit', 'kvmnode1', '--tags', 'firewall']);
      expect(plan.code, plan.stderr).toBe(2);
      const text = rowsOf(json(plan))
        .filter((r) => r.host === 'kvmnode1')
        .flatMap((r) => [r.reason, ...(r.changes ?? []).map((c) => c.summary)])
        .join('\n');
      expect(text).toMatch(/removed rule apply does not own: -A INPUT -j ACCEPT/);
      expect(text).toContain('192.0.2.7/32');
      expect(text).toContain('SITE_INP');

      const apply = hvmctl(['apply', '--limit', 'kvmnode1', '--tags', 'firewall']);
      expect(apply.code, apply.stdout + apply.stderr).toBe(0);
      const input = mustLabExec('kvmnode1', 'iptables -S INPUT').trim().split('\n');
      expect(input).not.toContain('-A INPUT -j ACCEPT');
      expect(input).toContain('-A INPUT -s 192.0.2.7/32 -p tcp -m tcp --dport 22 -m comment --comment "jump host" -j ACCEPT');
      expect(input.filter((l) => l.includes('-j SITE_INP'))).toHaveLength(1);
      // apply's own rules all stand before the kept ones: nothing foreign can shadow the operator's rule.
      const lastOwn = input.map((l) => l.includes('hvmctl:')).lastIndexOf(true);
      expect(input.findIndex((l) => l.includes('192.0.2.7'))).toBeGreaterThan(lastOwn);
      expect(input[0]).toBe('-P INPUT DROP');
      expect(hvmctl(['plan', '--limit', 'kvmnode1', '--tags', 'firewall']).code).toBe(0);
    } finally {
      labExec('kvmnode1', "iptables -D INPUT -j SITE_INP; iptables -X SITE_INP; iptables -D INPUT -s 192.0.2.7/32 -p tcp -m tcp --dport 22 -m comment --comment 'jump host' -j ACCEPT; iptables -D INPUT -j ACCEPT; true");
    }
    expect(hvmctl(['plan']).code).toBe(0);
  });

  it("trust is one block, exactly the other hypervisors, each key usable only from its own address", () => {
    for (const [h, peers] of [
      ['kvmnode1', ['kvmnode2', 'kvmnode3']],
      ['kvmnode2', ['kvmnode1', 'kvmnode3']],
    ] as const) {
      const keys = mustLabExec(h, 'cat /root/.ssh/authorized_keys');
      const block = keys.split('\n').filter((l) => l.startsWith('from='));
      const address = { kvmnode1: '172.21.3.10', kvmnode2: '172.21.3.11', kvmnode3: '172.21.3.12' } as const;
      expect(block.map((l) => /^from="([^"]+)"/.exec(l)?.[1]).sort()).toEqual(peers.map((p) => address[p]).sort());
    }
    // kvmnode2's own key works from kvmnode2 ...
    expect(labExec('kvmnode2', 'ssh -o BatchMode=yes -o ConnectTimeout=5 root@kvmnode1.localdomain hostname').stdout.trim()).toBe('kvmnode1');
    // ... and not from the storage node, which the firewall lets reach kvmnode1's sshd.
    const stolen = mustLabExec('kvmnode2', 'base64 -w0 /root/.ssh/id_ed25519');
    mustLabExec('kvmstorage', `umask 077; echo ${stolen} | base64 -d > /root/stolen_key`);
    try {
      const r = labExec('kvmstorage', 'ssh -i /root/stolen_key -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 root@172.21.3.10 hostname');
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toMatch(/Permission denied/);
    } finally {
      labExec('kvmstorage', 'rm -f /root/stolen_key');
    }
  });

  it('a host whose libvirtd hangs fails with the step named within --timeout, and the others finish', () => {
    // Stop libvirtd (the process, not the unit) so every virsh call on kvmnode3 hangs.
    mustLabExec('kvmnode3', 'virsh -c qemu:///system uri >/dev/null && systemctl kill --signal=SIGSTOP libvirtd.service');
    try {
      const r = hvmctl(['apply', '--timeout', '20', '--json'], { timeoutMs: 300_000 });
      expect(r.code, r.stderr).toBe(2);
      const rows = rowsOf(json(r));
      const failed = rows.filter((x) => x.status === 'failed');
      expect(failed.map((x) => x.host)).toEqual(['kvmnode3']);
      expect(failed[0]!.reason).toMatch(/no answer within 20 s/);
      expect(failed[0]!.reason).toMatch(/virsh|pool/);
      // kvmnode1 went on to the last stage: the others finished.
      expect(rows.some((x) => x.host === 'kvmnode1' && /balancer/.test(x.task))).toBe(true);
    } finally {
      labExec('kvmnode3', 'systemctl kill --signal=SIGCONT libvirtd.service');
    }
    expect(hvmctl(['plan']).code).toBe(0);
  });

  it('an operator logging in as a non-root user with password-less sudo gets the same result, and none without it', () => {
    const all = ['kvmstorage', 'kvmnode1', 'kvmnode2', 'kvmnode3'];
    for (const h of all) {
      mustLabExec(
        h,
        [
          'useradd -m -s /bin/bash deploy',
          'install -d -m 0700 -o deploy -g deploy ~deploy/.ssh',
          'head -n 1 /root/.ssh/authorized_keys > ~deploy/.ssh/authorized_keys',
          'chown deploy:deploy ~deploy/.ssh/authorized_keys',
          "echo 'deploy ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/hvmctl-test",
          'chmod 0440 /etc/sudoers.d/hvmctl-test',
        ].join(' && '),
      );
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'hvmctl-e2e-sudo-'));
    const inventory = path.join(dir, 'inventory.yaml');
    const text = readFileSync(path.join(repoRoot, 'inventory.yaml'), 'utf8');
    expect(text).toMatch(/^  user: root\b/m);
    writeFileSync(inventory, text.replace(/^  user: root\b/m, '  user: deploy'));
    try {
      expect(hvmctl(['plan', '-i', inventory]).code).toBe(0);
      mustLabExec('kvmnode2', 'echo "10.9.9.7 intruder3" >> /etc/hosts');
      const fix = hvmctl(['apply', '-i', inventory, '--json']);
      expect(fix.code, fix.stderr).toBe(0);
      expect(rowsOf(json(fix)).filter((r) => r.status === 'changed').map((r) => `${r.host}:${r.task}`)).toEqual(['kvmnode2:hosts file']);
      // Written as root, whole, as a root login would have.
      expect(mustLabExec('kvmnode2', "stat -c '%U:%G %a' /etc/hosts; grep -c intruder3 /etc/hosts || true").trim().split('\n')).toEqual(['root:root 644', '0']);
      expect(mustLabExec('kvmnode2', "journalctl _COMM=sudo --no-pager -o cat | grep -c 'USER=root' || true").trim()).not.toBe('0');
      // Without password-less sudo: refused at connection, saying what to add, nothing done.
      mustLabExec('kvmnode3', 'rm /etc/sudoers.d/hvmctl-test');
      const refused = hvmctl(['plan', '-i', inventory, '--limit', 'kvmnode3']);
      expect(refused.code).toBe(3);
      expect(refused.stdout + refused.stderr).toMatch(/cannot run commands as root with 'sudo -n'/);
      expect(refused.stdout + refused.stderr).toMatch(/NOPASSWD/);
    } finally {
      for (const h of all) labExec(h, 'rm -f /etc/sudoers.d/hvmctl-test; userdel -r deploy 2>/dev/null; true');
    }
    expect(hvmctl(['plan']).code).toBe(0);
  });

  it("lines an earlier apply wrote in /etc/fstab (the images with nfs.client kernel, the lockspace with nfs.locks.mount) go in one write now that the inventory wants neither; the host's lines stay", () => {
    const before = mustLabExec('kvmnode2', 'cat /etc/fstab 2>/dev/null; true');
    const stale = [
      'kvmstorage.localdomain:/srv/kvmshared /var/lib/libvirt/images/kvmshared nfs defaults,_netdev,hard,timeo=600,nosuid,nodev,noexec 0 0',
      'kvmstorage.localdomain:/srv/kvmshared/.hvmctl-lockd /var/lib/hvmctl/lockd nfs defaults,_netdev,hard,timeo=600,nosuid,nodev,noexec 0 0',
    ];
    mustLabExec('kvmnode2', `printf '%s\\n' ${stale.map((l) => `'${l}'`).join(' ')} >> /etc/fstab`);
    const plan = hvmctl(['plan', '--json', '--limit', 'kvmnode2', '--tags', 'mount']);
    expect(plan.code, plan.stderr).toBe(2);
    const drift = rowsOf(json(plan)).filter((r) => r.status === 'changed');
    expect(drift.map((r) => [r.host, r.task])).toEqual([['kvmnode2', 'fstab entries']]);
    expect(drift[0]!.changes!.map((c) => c.summary)).toEqual([
      "remove the /etc/fstab line for /var/lib/libvirt/images/kvmshared (nfs.client is qemu: QEMU opens the images itself); remove the /etc/fstab lockspace line for /var/lib/hvmctl/lockd (nfs.locks.mount is false) (a removed line's mount stays mounted until it is unmounted or the host restarts)",
    ]);
    const fix = hvmctl(['apply', '--json', '--limit', 'kvmnode2', '--tags', 'mount']);
    expect(fix.code, fix.stderr).toBe(0);
    expect(mustLabExec('kvmnode2', 'cat /etc/fstab 2>/dev/null; true').trim()).toBe(before.trim());
    expect(hvmctl(['plan', '--limit', 'kvmnode2', '--tags', 'mount']).code).toBe(0);
  });
});
