// End-to-end: `hvmctl apply` against the real lab: four Debian 12 hosts booted
// with systemd, bare as an installer leaves them. apply really installs the
// packages (from the lab's local repository), moves each host's address onto
// the bridge, and enables the services; then real sshd, libvirtd, KVM,
// ganesha NFS, the balancer's timer and iptables. Ordered: each block builds
// on the state the previous one left, as an operator's day would.
import { readFileSync, readdirSync, statSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, beforeAll } from 'vitest';
import { changedTasks as changed, eventually, labExec as inHost, labSsh, labUnavailableReason, mustLabExec as mustInHost, parseJsonOutput as json, repoRoot, runHvmctl as hvmctl, spawnHvmctl as hvmctlChild, taskRows as rows } from './support.ts';

const sshWorks = (host: string) => labSsh(host, 'true', { timeoutMs: 10_000 }).code === 0;

const skip = labUnavailableReason();
const hypervisors = ['kvmnode1', 'kvmnode2', 'kvmnode3'];
const all = ['kvmstorage', ...hypervisors];
const address: Record<string, string> = {
  kvmstorage: '172.21.3.13',
  kvmnode1: '172.21.3.10',
  kvmnode2: '172.21.3.11',
  kvmnode3: '172.21.3.12',
};


describe.skipIf(skip !== undefined)(`apply on the lab${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => {
    // The lab is up (global setup) and blank: nothing managed yet.
    for (const h of all) expect(inHost(h, 'test ! -e /etc/hvmctl/balancer.json').code).toBe(0);
  });

  it('bootstraps the four blank hosts in one apply: packages installed, services enabled', () => {
    const t0 = Date.now();
    const r = hvmctl(['apply', '--json'], { timeoutMs: 900_000 });
    process.stderr.write(`cold apply of the bare lab: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    expect(r.code, r.stderr + r.stdout.slice(0, 3000)).toBe(0);
    const doc = json(r);
    const hostsSeen = new Set(rows(doc).map((x) => x.host));
    expect([...hostsSeen].sort()).toEqual([...all].sort());
    expect(rows(doc).filter((x) => x.status === 'failed')).toEqual([]);
    expect(changed(doc).map((x) => `${x.host}:${x.task}`)).toEqual(expect.arrayContaining(all.map((h) => `${h}:packages`)));
    for (const h of hypervisors) {
      expect(mustInHost(h, "dpkg-query -W -f='${db:Status-Abbrev}\\n' libvirt-daemon-system qemu-system-x86 iptables").split('\n').map((l) => l.trim()).filter(Boolean)).toEqual(['ii', 'ii', 'ii']);
      // libvirtd is socket-activated on Debian (it exits after 120 s without clients): its socket listens.
      expect(mustInHost(h, 'systemctl is-enabled libvirtd libvirtd.socket virtlogd.socket netfilter-persistent; systemctl is-active libvirtd.socket').trim().split('\n')).toEqual(['enabled', 'enabled', 'enabled', 'enabled', 'active']);
    }
    expect(mustInHost('kvmstorage', 'systemctl is-enabled nfs-ganesha netfilter-persistent; systemctl is-active nfs-ganesha').trim().split('\n')).toEqual(['enabled', 'enabled', 'active']);
    expect(mustInHost('kvmnode1', 'systemctl is-enabled hvmctl-balancer.timer; systemctl is-active hvmctl-balancer.timer').trim().split('\n')).toEqual(['enabled', 'active']);
  });

  it("each host's address moved from eth0 onto the bridge br0, eth0 enslaved to it, and it is reached over it", () => {
    for (const h of all) {
      const links = mustInHost(h, 'ip -4 -o addr show dev br0; echo ---; ip -4 -o addr show dev eth0; echo ---; cat /sys/class/net/eth0/master/uevent');
      const [br0, eth0, master] = links.split('---\n');
      expect(br0).toContain(`inet ${address[h]}/26`);
      expect(eth0!.trim()).toBe('');
      expect(master).toContain('INTERFACE=br0');
      expect(mustInHost(h, 'ip route show default').trim()).toMatch(/^default via 172\.21\.3\.1 dev br0/);
    }
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
      `perl -MIO::Socket::INET -e '$s=IO::Socket::INET->new(LocalPort=>${port},Listen=>5,ReuseAddr=>1) or die; sleep 20' >/dev/null 2>&1 &`;
    // And one on libvirtd's TCP port, which hvmctl (migrating over qemu+ssh) no longer opens by default.
    mustInHost('kvmnode1', `${listen(49152)} ${listen(8080)} ${listen(16509)} for i in $(seq 100); do ss -ltnH | grep -q ':8080 ' && ss -ltnH | grep -q ':49152 ' && ss -ltnH | grep -q ':16509 ' && exit 0; sleep 0.1; done; exit 1`);
    const tcp = (from: string, port: number) =>
      inHost(from, `timeout 3 bash -c 'echo > /dev/tcp/${address.kvmnode1}/${port}'`).code;
    expect(tcp('kvmnode2', 22)).toBe(0);
    expect(tcp('kvmnode2', 49152)).toBe(0);
    expect(tcp('kvmnode2', 8080)).not.toBe(0);
    expect(tcp('kvmnode2', 16509)).not.toBe(0);
    // The storage node is no hypervisor: no migration port for it.
    expect(tcp('kvmstorage', 49152)).not.toBe(0);
    // The listener itself works (the drop is the firewall's, not a missing listener).
    expect(inHost('kvmnode1', `timeout 3 bash -c 'echo > /dev/tcp/127.0.0.1/8080'`).code).toBe(0);
    expect(inHost('kvmnode1', `timeout 3 bash -c 'echo > /dev/tcp/127.0.0.1/16509'`).code).toBe(0);
  });

  it("schedules the balancer on the home hypervisor with a systemd timer (systemd is PID 1), not cron", () => {
    const timer = mustInHost('kvmnode1', 'cat /etc/systemd/system/hvmctl-balancer.timer /etc/systemd/system/hvmctl-balancer.service');
    expect(timer).toContain('OnCalendar=*-*-* *:*:00');
    expect(timer).toMatch(/^ExecStart=.*balancer\.mjs once/m);
    expect(inHost('kvmnode1', 'test -e /etc/cron.d/hvmctl-balancer').code).not.toBe(0);
    expect(inHost('kvmnode2', 'test -e /etc/systemd/system/hvmctl-balancer.timer').code).not.toBe(0);
  });

  it('a second apply changes nothing and plan exits 0', () => {
    const again = hvmctl(['apply', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(changed(json(again))).toEqual([]);
    const plan = hvmctl(['plan']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
  });

  describe('after every host reboots, with no apply in between', () => {
    let rebootSeconds = 0;
    beforeAll(() => {
      const t0 = Date.now();
      const r = hvmctl(['lab', 'reboot', '--all'], { timeoutMs: 300_000 });
      rebootSeconds = (Date.now() - t0) / 1000;
      expect(r.code, r.stderr).toBe(0);
      for (const h of all) expect(r.stdout).toMatch(new RegExp(`^${h}: rebooted, systemd running,`, 'm'));
    }, 400_000);

    it('the firewall (IPv4 and IPv6, default drop) was loaded by the boot before sshd started', () => {
      for (const h of all) {
        const v4 = mustInHost(h, 'iptables -S INPUT');
        const v6 = mustInHost(h, 'ip6tables -S INPUT');
        expect(v4, h).toMatch(/^-P INPUT DROP$/m);
        expect(v4, h).toMatch(/hvmctl: ssh from kvm/);
        expect(v6, h).toMatch(/^-P INPUT DROP$/m);
        // This boot's order, from systemd's own monotonic clock: the rules were
        // loaded (the loader unit finished) before sshd's process started.
        const t = mustInHost(h, 'systemctl show -P ActiveEnterTimestampMonotonic netfilter-persistent.service; systemctl show -P ExecMainStartTimestampMonotonic ssh.service')
          .trim()
          .split('\n')
          .map(Number);
        expect(t[0], `${h}: netfilter-persistent active at ${t[0]}, sshd started at ${t[1]}`).toBeGreaterThan(0);
        expect(t[0]!, h).toBeLessThan(t[1]!);
      }
    });

    it("each hypervisor's bridge guard was loaded by the boot before the network and libvirtd", () => {
      for (const h of hypervisors) {
        expect(mustInHost(h, 'nft list table bridge hvmctl_guard'), h).toMatch(/ip saddr @hosts counter packets \d+ bytes \d+ drop/);
        // one value per unit, a blank line between units
        const t = mustInHost(h, 'systemctl show -P ActiveEnterTimestampMonotonic hvmctl-bridge-guard.service network-pre.target libvirtd.service')
          .trim()
          .split(/\n+/)
          .map(Number);
        expect(t, h).toHaveLength(3);
        expect(t[0], `${h}: the guard active at ${t[0]}`).toBeGreaterThan(0);
        expect(t[0]!, `${h}: the guard before network-pre.target`).toBeLessThanOrEqual(t[1]!);
        expect(t[0]!, `${h}: the guard before libvirtd`).toBeLessThan(t[2]!);
      }
    });

    it('libvirtd and the pool are active, and the NFS export is served', async () => {
      for (const h of hypervisors) {
        expect(mustInHost(h, 'systemctl is-active libvirtd.socket').trim()).toBe('active');
        expect(mustInHost(h, 'virsh -c qemu:///system uri').trim()).toBe('qemu:///system');
        const info = mustInHost(h, 'virsh -c qemu:///system pool-info default');
        expect(info).toMatch(/State:\s+running/);
      }
      expect(mustInHost('kvmstorage', 'systemctl is-active nfs-ganesha').trim()).toBe('active');
      // ganesha registers with rpcbind a moment after its unit started: wait (bounded) for it.
      for (const h of hypervisors) expect(await eventually(() => inHost(h, 'nfs-ls nfs://172.21.3.13/srv/kvmshared').code === 0, 60_000), h).toBe(true);
    });

    it("the balancer's timer runs again", async () => {
      expect(mustInHost('kvmnode1', 'systemctl is-active hvmctl-balancer.timer').trim()).toBe('active');
      const ranThisBoot = () => Number(mustInHost('kvmnode1', 'systemctl show -P ExecMainStartTimestampMonotonic hvmctl-balancer.service').trim()) > 0;
      expect(await eventually(ranThisBoot, 150_000), 'the balancer service has not started since the reboot').toBe(true);
    }, 200_000);

    it('plan exits 0: nothing to change', () => {
      const plan = hvmctl(['plan', '--json']);
      expect(plan.code, plan.stdout.slice(0, 3000) + plan.stderr).toBe(0);
      process.stderr.write(`reboot of the 4 hosts: ${rebootSeconds.toFixed(1)} s to sshd; plan after it: exit 0\n`);
    });
  });

  it('a network change that cuts a host off is rolled back by the host within the bound apply prints; the next correct apply converges', async () => {
    // kvmnode3's NIC named wrong (a typical slip: ens3 for eth0): the bridge
    // comes up without a port and the operator loses the host.
    const dir = mkdtempSync(path.join(tmpdir(), 'hvmctl-e2e-cutoff-'));
    const bad = path.join(dir, 'inventory.yaml');
    const good = readFileSync(path.join(repoRoot, 'inventory.yaml'), 'utf8');
    const wrong = good.replace(/(kvmnode3:\n\s+address: 172\.21\.3\.12\n\s+mac: "[^"]+"\n\s+interface: )eth0/, '$1ens3');
    expect(wrong).not.toBe(good);
    writeFileSync(bad, wrong);
    const before = mustInHost('kvmnode3', 'cat /etc/network/interfaces; ip -br addr show dev br0');
    const t0 = Date.now();
    const r = hvmctl(['apply', '-i', bad, '--json'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(2);
    const doc = json<{ results: { host: string; task: string; status: string; reason: string }[] }>(r);
    const restart = doc.results.find((x) => x.host === 'kvmnode3' && /network-restart/.test(x.task));
    expect(restart?.status, JSON.stringify(restart)).toBe('failed');
    const bound = Number(/within (\d+) s/.exec(restart?.reason ?? '')?.[1]);
    expect(bound, restart?.reason).toBeGreaterThan(0);
    for (const other of ['kvmstorage', 'kvmnode1', 'kvmnode2']) expect(doc.results.filter((x) => x.host === other && x.status === 'failed')).toEqual([]);
    // Back by itself, within the bound (counted from the start of the apply), on its old network.
    const back = await eventually(() => inHost('kvmnode3', 'true').code === 0 && sshWorks('kvmnode3'), bound * 1000 + 30_000);
    const rolledBack = (Date.now() - t0) / 1000;
    expect(back, `kvmnode3 not reachable again ${rolledBack.toFixed(0)} s after the apply started`).toBe(true);
    expect(rolledBack).toBeLessThan(bound + 30);
    expect(mustInHost('kvmnode3', 'cat /etc/network/interfaces; ip -br addr show dev br0')).toBe(before);
    process.stderr.write(`cut-off network change: kvmnode3 back on its old network ${rolledBack.toFixed(1)} s after apply started (bound ${bound} s)\n`);
    const fix = hvmctl(['apply']);
    expect(fix.code, fix.stdout + fix.stderr).toBe(0);
    expect(hvmctl(['plan']).code).toBe(0);
  }, 400_000);

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
    mustInHost('kvmnode3', 'systemctl stop ssh.service');
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
      mustInHost('kvmnode3', 'systemctl start ssh.service');
    }
    expect(hvmctl(['plan']).code).toBe(0);
  });

  it('an apply killed with SIGKILL mid-way leaves no half-written managed file; the next apply converges', async () => {
    const rendered = mkdtempSync(path.join(tmpdir(), 'hvmctl-e2e-render-'));
    expect(hvmctl(['render', '-o', rendered]).code).toBe(0);
    // Remove apply's files everywhere so apply has real work to do; not the
    // network's: a host whose /etc/network/interfaces is gone has no network
    // to come back to (the rollback restores "absent"). The network change is
    // the cut-off test's.
    const files: Record<string, string[]> = {};
    // What apply writes: the converged hosts' files (render's, except that the firewall's
    // also accepts SSH from the operator's address, which only apply knows).
    const wanted = new Map<string, string>();
    for (const h of all) {
      // Not libvirt's pool file (libvirt writes its own, with the pool's uuid, from what apply
      // defines), nor the cron entry render shows for hosts without systemd (these use a timer).
      const hostFiles = walk(path.join(rendered, h))
        .map((f) => f.slice(path.join(rendered, h).length))
        .filter((f) => !f.startsWith('/etc/network/') && !f.startsWith('/etc/libvirt/') && !f.startsWith('/etc/cron.d/'));
      files[h] = hostFiles;
      for (const f of hostFiles) {
        const now = mustInHost(h, `cat ${f}`);
        if (!f.startsWith('/etc/iptables/')) expect(now, `${h}:${f} before the kills`).toBe(readFileSync(path.join(rendered, h, f), 'utf8'));
        wanted.set(`${h}:${f}`, now);
      }
      mustInHost(h, `rm -f ${files[h]!.filter((f) => f !== '/etc/hosts').join(' ')}`);
    }
    // Kills spread over the run (start-up, facts, uploads of each stage: the
    // first upload comes a second or two in, after the package facts); each
    // new apply starts over on what the killed ones left.
    let written = 0;
    for (const delay of [200, 500, 900, 1300, 1800, 2400, 3000, 4000]) {
      const child = hvmctlChild(['apply']);
      // Listen before waiting: a late kill may find the apply already finished.
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await exited;
      written = 0;
      for (const h of all) {
        for (const f of files[h]!) {
          const want = wanted.get(`${h}:${f}`);
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
