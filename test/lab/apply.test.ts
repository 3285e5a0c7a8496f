// End-to-end: `hvmctl apply` against the real lab (four hosts in namespaces,
// real sshd, libvirtd, KVM, ganesha NFS, cron, iptables). Ordered: each block
// builds on the state the previous one left, as an operator's day would.
import { readFileSync, readdirSync, statSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, beforeAll } from 'vitest';
import { labExec as inHost, labUnavailableReason, mustLabExec as mustInHost, parseJsonOutput as json, runHvmctl as hvmctl, spawnHvmctl as hvmctlChild } from './support.ts';

const skip = labUnavailableReason();
const hypervisors = ['kvmnode1', 'kvmnode2', 'kvmnode3'];
const all = ['kvmstorage', ...hypervisors];
const address: Record<string, string> = {
  kvmstorage: '172.21.3.13',
  kvmnode1: '172.21.3.10',
  kvmnode2: '172.21.3.11',
  kvmnode3: '172.21.3.12',
};

interface TaskLine {
  host: string;
  task: string;
  status: string;
}

/** The task rows of apply/plan --json (handlers left out: they follow changes). */
function rows(doc: unknown): TaskLine[] {
  const d = doc as { results: { host: string; task: string; status: string; handler?: boolean }[] };
  return d.results.filter((r) => r.handler !== true).map((r) => ({ host: r.host, task: r.task, status: r.status }));
}

const changed = (doc: unknown) => rows(doc).filter((r) => r.status === 'changed');

describe.skipIf(skip !== undefined)(`apply on the lab${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => {
    // The lab is up (global setup) and blank: nothing managed yet.
    for (const h of all) expect(inHost(h, 'test ! -e /etc/hvmctl/balancer.json').code).toBe(0);
  });

  it('bootstraps the four blank hosts in one apply', () => {
    const r = hvmctl(['apply', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = json(r);
    const hostsSeen = new Set(rows(doc).map((x) => x.host));
    expect([...hostsSeen].sort()).toEqual([...all].sort());
    expect(rows(doc).filter((x) => x.status === 'failed')).toEqual([]);
    expect(changed(doc).length).toBeGreaterThan(0);
  });

  it('each hypervisor lists the NFS export and has pool default active', () => {
    for (const h of hypervisors) {
      expect(inHost(h, 'nfs-ls nfs://172.21.3.13/srv/kvmshared').code).toBe(0);
      const info = mustInHost(h, 'virsh -c qemu:///system pool-info default');
      expect(info).toMatch(/State:\s+running/);
      expect(info).toMatch(/Autostart:\s+yes/);
    }
  });

  it('names in /etc/hosts resolve on every host', () => {
    for (const h of all) {
      for (const peer of all) {
        const out = mustInHost(h, `getent hosts ${peer}.localdomain`);
        expect(out.trim().split(/\s+/)[0]).toBe(address[peer]);
      }
    }
  });

  it('each hypervisor reaches the others as root over SSH with pinned host keys', () => {
    for (const h of hypervisors) {
      for (const peer of hypervisors.filter((p) => p !== h)) {
        // BatchMode: no password prompt; StrictHostKeyChecking=yes: an unpinned key fails.
        const r = inHost(
          h,
          `ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=5 root@${peer}.localdomain hostname`,
        );
        expect(r.code, `${h} -> ${peer}: ${r.stderr}`).toBe(0);
        expect(r.stdout.trim()).toBe(peer);
      }
    }
  });

  it("the firewall accepts the cluster's ports from the cluster network and drops others", () => {
    // Listeners on kvmnode1: one on a migration port (allowed between
    // hypervisors) and one on 8080 (in no list).
    const listen = (port: number) =>
      `python3 -c 'import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(("0.0.0.0",${port}));s.listen();time.sleep(20)' >/dev/null 2>&1 &`;
    mustInHost('kvmnode1', `${listen(49152)} ${listen(8080)} sleep 1`);
    const tcp = (from: string, port: number) =>
      inHost(from, `timeout 3 bash -c 'echo > /dev/tcp/${address.kvmnode1}/${port}'`).code;
    expect(tcp('kvmnode2', 22)).toBe(0);
    expect(tcp('kvmnode2', 49152)).toBe(0);
    expect(tcp('kvmnode2', 8080)).not.toBe(0);
    // The storage node is no hypervisor: no migration port for it.
    expect(tcp('kvmstorage', 49152)).not.toBe(0);
    // The listener itself works (the drop is the firewall's, not a missing listener).
    expect(inHost('kvmnode1', `timeout 3 bash -c 'echo > /dev/tcp/127.0.0.1/8080'`).code).toBe(0);
  });

  it('installs the balancer crontab entry on the home hypervisor', () => {
    const cron = mustInHost('kvmnode1', 'cat /etc/cron.d/hvmctl-balancer');
    expect(cron).toMatch(/^\* \* \* \* \* root .*balancer\.mjs once/m);
    expect(inHost('kvmnode2', 'test -e /etc/cron.d/hvmctl-balancer').code).not.toBe(0);
  });

  it('a second apply changes nothing and plan exits 0', () => {
    const again = hvmctl(['apply', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(changed(json(again))).toEqual([]);
    const plan = hvmctl(['plan']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
  });

  it('drift: plan names exactly the edited /etc/hosts and the deleted firewall rule, apply fixes exactly those', () => {
    mustInHost('kvmnode2', 'echo "10.9.9.9 intruder" >> /etc/hosts');
    const rule = mustInHost('kvmnode3', "iptables-save -t filter | grep -m1 -- '-A INPUT.*hvmctl' ")
      .trim()
      .replace(/^-A /, '');
    expect(rule).not.toBe('');
    mustInHost('kvmnode3', `iptables -D ${rule}`);

    const plan = hvmctl(['plan', '--json']);
    expect(plan.code, plan.stderr).toBe(2);
    const drift = changed(json(plan)).map((x) => `${x.host}:${x.task}`);
    expect(drift).toHaveLength(2);
    expect(drift.some((x) => x.startsWith('kvmnode2:') && /hosts/i.test(x))).toBe(true);
    expect(drift.some((x) => x.startsWith('kvmnode3:') && /firewall/i.test(x))).toBe(true);

    const fix = hvmctl(['apply', '--json']);
    expect(fix.code, fix.stderr).toBe(0);
    expect(changed(json(fix)).map((x) => `${x.host}:${x.task}`).sort()).toEqual([...drift].sort());
    expect(mustInHost('kvmnode2', 'cat /etc/hosts')).not.toContain('intruder');
    expect(hvmctl(['plan']).code).toBe(0);
  });

  it('a guest live-migrates kvmnode1 -> kvmnode2 over qemu+ssh and back, with only what apply configured', () => {
    const vms = hvmctl(['lab', 'vms']);
    expect(vms.code, vms.stderr + vms.stdout).toBe(0);
    const migrate = (from: string, to: string) =>
      inHost(
        from,
        `virsh -c qemu:///system migrate --live --persistent --undefinesource server1 qemu+ssh://root@${to}.localdomain/system`,
        { timeoutMs: 120_000 },
      );
    const there = migrate('kvmnode1', 'kvmnode2');
    expect(there.code, there.stderr).toBe(0);
    expect(mustInHost('kvmnode2', 'virsh -c qemu:///system domstate server1').trim()).toBe('running');
    expect(inHost('kvmnode1', 'virsh -c qemu:///system domstate server1').code).not.toBe(0);
    const back = migrate('kvmnode2', 'kvmnode1');
    expect(back.code, back.stderr).toBe(0);
    expect(mustInHost('kvmnode1', 'virsh -c qemu:///system domstate server1').trim()).toBe('running');
    expect(inHost('kvmnode2', 'virsh -c qemu:///system list --name').stdout).not.toContain('server1');
  });

  it('with sshd stopped on kvmnode3, apply completes the others, marks it unreachable and exits non-zero', () => {
    mustInHost('kvmnode3', 'kill $(cat /run/sshd.pid)');
    try {
      mustInHost('kvmnode2', 'echo "10.9.9.8 intruder2" >> /etc/hosts');
      const r = hvmctl(['apply', '--json']);
      expect(r.code).not.toBe(0);
      const doc = json<{ recap: { host: string; unreachable: number; failed: number }[] }>(r);
      expect(r.code).toBe(3);
      expect(doc.recap.find((x) => x.host === 'kvmnode3')?.unreachable).toBe(1);
      for (const other of ['kvmstorage', 'kvmnode1', 'kvmnode2']) {
        expect(doc.recap.find((x) => x.host === other)).toMatchObject({ unreachable: 0, failed: 0 });
      }
      expect(changed(doc).map((x) => x.host)).toEqual(['kvmnode2']);
      expect(mustInHost('kvmnode2', 'cat /etc/hosts')).not.toContain('intruder2');
    } finally {
      mustInHost('kvmnode3', '/usr/sbin/sshd -o PidFile=/run/sshd.pid');
    }
    expect(hvmctl(['plan']).code).toBe(0);
  });

  it('an apply killed with SIGKILL mid-way leaves no half-written managed file; the next apply converges', async () => {
    const rendered = mkdtempSync(path.join(tmpdir(), 'hvmctl-e2e-render-'));
    expect(hvmctl(['render', '-o', rendered]).code).toBe(0);
    // Remove managed files everywhere so apply has real work to do.
    const files: Record<string, string[]> = {};
    for (const h of all) {
      files[h] = walk(path.join(rendered, h)).map((f) => f.slice(path.join(rendered, h).length));
      mustInHost(h, `rm -f ${files[h]!.filter((f) => f !== '/etc/hosts').join(' ')}`);
    }
    // Kills spread over the run (start-up, facts, uploads of each stage); each
    // new apply starts over on what the killed ones left.
    let written = 0;
    for (const delay of [150, 300, 450, 600, 800, 1100, 1500]) {
      const child = hvmctlChild(['apply']);
      // Listen before waiting: a late kill may find the apply already finished.
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await exited;
      written = 0;
      for (const h of all) {
        for (const f of files[h]!) {
          const want = readFileSync(path.join(rendered, h, f), 'utf8');
          const r = inHost(h, `cat ${f}`);
          // Either not written yet, or whole: never a prefix of the new content.
          if (r.code === 0) {
            expect(r.stdout, `${h}:${f} after a kill at ${delay} ms`).toBe(want);
            if (f !== '/etc/hosts') written += 1;
          }
        }
      }
    }
    expect(written, 'the kills all landed before any file was written: the test proved nothing').toBeGreaterThan(0);
    const converge = hvmctl(['apply']);
    expect(converge.code, converge.stdout + converge.stderr).toBe(0);
    expect(hvmctl(['plan']).code).toBe(0);
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
