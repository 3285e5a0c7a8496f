// End-to-end: with two home hypervisors, apply installs an agent on each, and
// one agent acts per run (issue 11). The inventory here names kvmnode1 and
// kvmnode2 as homes; each agent's run first takes the cluster lease, a flock
// on the storage the hypervisors share (the disk lockspace's directory, which
// the lab binds into every hypervisor). The other agent does nothing that run.
// When the leader's host stops (a reboot: every process of it ends, as when a
// server goes down; over NFS its lock ends with its lease), the other takes
// over. afterAll re-applies the lab's own inventory, which also retires
// kvmnode2's agent.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, labAvailable, labExec, labGuests, labUnavailableReason, mustLabExec, ok, placement, repoRoot, runHvmctl } from './support.ts';

const TIMER = 'hvmctl-balancer.timer';
const CONFIG = '/etc/hvmctl/balancer.json';
type Once = { ran?: boolean; message?: string; action?: string; results?: { vm: string; ok: boolean; host: string }[] };

function config(host: string): { leader: string; state: string; drains: string } {
  return JSON.parse(mustLabExec(host, `cat ${CONFIG}`)) as { leader: string; state: string; drains: string };
}

/** `balance once --json` on both homes at the same moment; each one's last JSON line. */
async function bothAtOnce(): Promise<Record<string, Once>> {
  const { spawn } = await import('node:child_process');
  const run = (host: string) =>
    new Promise<Once>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(repoRoot, 'bin/hvmctl.js'), 'lab', 'exec', host, '--', 'node', '/opt/hvmctl/balancer.mjs', 'once', '--json', '--config', CONFIG], { env: { ...process.env, NO_COLOR: '1' } });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
      child.on('close', () => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Once);
        } catch {
          reject(new Error(`${host}: no JSON from balance once: ${out}`));
        }
      });
    });
  const [a, b] = await Promise.all([run('kvmnode1'), run('kvmnode2')]);
  return { kvmnode1: a, kvmnode2: b };
}

describe.skipIf(!labAvailable())(`two homes, one agent acting${labAvailable() ? '' : ` (skipped: ${labUnavailableReason()})`}`, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hvmctl-leader-'));
  const inventory = path.join(dir, 'inventory.yaml');

  beforeAll(() => {
    const text = readFileSync(path.join(repoRoot, 'inventory.yaml'), 'utf8');
    // No cooldown: the test moves every guest home first, and those moves must not hold the
    // guests (the lease, not the cooldown, is what this file tests).
    const twoHomes = text
      .replace(/hosts: \[kvmnode1\]( +#[^\n]*)?\n(\s+)helpers: \[kvmnode2, kvmnode3\]/, 'hosts: [kvmnode1, kvmnode2]\n$2helpers: [kvmnode3]')
      .replace(/\n(\s+)cooldown: \d+/, '\n$1cooldown: 0');
    expect(twoHomes).toMatch(/hosts: \[kvmnode1, kvmnode2\]/);
    expect(twoHomes).toMatch(/\n\s+cooldown: 0\b/);
    writeFileSync(inventory, twoHomes);
    ok(runHvmctl(['apply', '-i', inventory], { timeoutMs: 900_000 }));
    for (const h of ['kvmnode1', 'kvmnode2']) mustLabExec(h, `systemctl stop ${TIMER}; flock /run/hvmctl-balancer.lock true`);
    labExec('kvmnode1', "pkill -f '[s]leep 3601'; true");
  }, 1_200_000);

  afterAll(async () => {
    labExec('kvmnode1', "pkill -f '[s]leep 3601'; true");
    // kvmnode1 is back (the test powered it off and on).
    await eventually(() => labExec('kvmnode1', 'systemctl is-system-running --wait', { timeoutMs: 120_000 }).stdout.trim() !== '' && labExec('kvmnode1', 'virsh -c qemu:///system version').code === 0, 300_000, 3000);
    runHvmctl(['apply'], { timeoutMs: 900_000 });
    // kvmnode1's reboot stopped its guests.
    runHvmctl(['lab', 'vms'], { timeoutMs: 600_000 });
  }, 1_200_000);

  it('apply installed an agent on each home, both using one cluster lease on the shared storage', () => {
    const [a, b] = [config('kvmnode1'), config('kvmnode2')];
    expect(a.leader).toBe('/var/lib/hvmctl/lockd/balancer/leader.lock');
    expect(b).toMatchObject({ leader: a.leader, state: a.state, drains: a.drains });
  });

  it('kvmnode1 overloaded, both homes run together until a guest moves: each round one acts, and exactly one guest moves', async () => {
    // Every guest at home, wherever earlier tests (or runs) left them, and empty windows, so
    // that the first round measures and a later one migrates.
    const start = placement();
    for (const g of labGuests) if (start[g]!.join() !== 'kvmnode1') ok(runHvmctl(['balance', 'move', g, 'kvmnode1'], { timeoutMs: 300_000 }));
    expect(placement()).toEqual(Object.fromEntries(labGuests.map((g) => [g, ['kvmnode1']])));
    mustLabExec('kvmnode1', `rm -f ${config('kvmnode1').state}`);
    for (const g of labGuests) ok(runHvmctl(['lab', 'load', g, '100']));
    try {
      // Rounds until one moves a guest (the window needs two measurements above `high`; the
      // first may catch the load still rising), at most four.
      const rounds: Record<string, Once>[] = [];
      const movedIn = (runs: Record<string, Once>) => Object.values(runs).some((r) => (r.results ?? []).some((x) => x.ok));
      while (rounds.length < 4 && !rounds.some(movedIn)) rounds.push(await bothAtOnce());
      for (const runs of rounds) {
        const acted = Object.entries(runs).filter(([, r]) => r.ran !== false);
        const waited = Object.entries(runs).filter(([, r]) => r.ran === false);
        expect(acted, JSON.stringify(runs)).toHaveLength(1);
        expect(waited, JSON.stringify(runs)).toHaveLength(1);
        expect(waited[0]![1].message).toMatch(new RegExp(`another home's agent \\(pid \\d+ on ${acted[0]![0]}\\) holds the cluster lease`));
      }
      const moved = rounds.flatMap((r) => Object.values(r)).flatMap((r) => r.results ?? []).filter((x) => x.ok);
      expect(moved, JSON.stringify(rounds)).toHaveLength(1);
      const where = placement();
      for (const g of labGuests) expect(where[g], g).toHaveLength(1);
      expect(where[moved[0]!.vm]).toEqual([moved[0]!.host]);
    } finally {
      for (const g of labGuests) runHvmctl(['lab', 'load', g, '0']);
    }
  }, 900_000);

  it('a drain made through one home reaches the other: both see it', () => {
    mustLabExec('kvmnode1', `node /opt/hvmctl/balancer.mjs drain kvmnode3 --config ${CONFIG}`);
    try {
      const status = JSON.parse(mustLabExec('kvmnode2', `node /opt/hvmctl/balancer.mjs status --json --config ${CONFIG}`)) as { hosts: { name: string; drained: boolean }[] };
      expect(status.hosts.find((h) => h.name === 'kvmnode3')?.drained).toBe(true);
    } finally {
      mustLabExec('kvmnode2', `node /opt/hvmctl/balancer.mjs undrain kvmnode3 --config ${CONFIG}`);
    }
  });

  it("when the leader's host stops, the other home's timer takes over within two runs", async () => {
    const lease = config('kvmnode1').leader;
    // kvmnode1's agent is the leader, in the middle of a run (holding the lease).
    mustLabExec('kvmnode1', `mkdir -p ${path.posix.dirname(lease)}; (flock ${lease} sh -c 'echo "$$ kvmnode1" > ${lease}; exec sleep 3601' >/dev/null 2>&1 &)`);
    expect(await eventually(() => /kvmnode1/.test(labExec('kvmnode2', `cat ${lease}`).stdout), 10_000, 500)).toBe(true);
    // kvmnode2's own timer runs, and does nothing while the lease is held.
    const logLines = () => Number(labExec('kvmnode2', 'cat /var/log/hvmctl/balancer.log 2>/dev/null | wc -l').stdout.trim() || '0');
    const before = logLines();
    mustLabExec('kvmnode2', `systemctl start ${TIMER}`);
    try {
      // What the timer's runs print goes to /var/log/hvmctl/cron.log (balancerPaths.cronLog).
      const waiting = await eventually(() => /on kvmnode1\) holds the cluster lease/.test(labExec('kvmnode2', 'tail -n 5 /var/log/hvmctl/cron.log 2>/dev/null').stdout), 150_000, 3000);
      expect(waiting, 'kvmnode2 ran and found the lease held').toBe(true);
      expect(logLines()).toBe(before);
      // The leader's host goes down at once, as on a power loss (every process of it ends,
      // its guests too). The lab powers it on again at once: its agent's timer is disabled
      // first, so that for the balancer it stays gone (apply in afterAll enables it again).
      mustLabExec('kvmnode1', `systemctl disable ${TIMER}`);
      const stopped = Date.now();
      labExec('kvmnode1', 'systemctl reboot --force --force', { timeoutMs: 30_000 });
      const tookOver = await eventually(() => logLines() > before, 150_000, 3000);
      expect(tookOver, 'kvmnode2 acted within two timer runs of the leader going down').toBe(true);
      process.stderr.write(`leader: kvmnode2 acted ${((Date.now() - stopped) / 1000).toFixed(0)} s after kvmnode1 went down\n`);
    } finally {
      labExec('kvmnode2', `systemctl stop ${TIMER}`);
      labExec('kvmnode1', "pkill -f '[s]leep 3601'; true");
    }
  }, 400_000);
});
