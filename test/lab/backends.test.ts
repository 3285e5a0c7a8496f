// End-to-end: each network backend Debian packages besides ifupdown
// (NetworkManager, netplan with networkd, systemd-networkd) takes kvmnode3
// from the installer's ifupdown to its bridge for real, keeps it over a
// reboot, renames the bridge and back (the old name's files and bridge go),
// rolls a change that cuts the host off back by itself within the bound
// apply prints, and hands the host back to ifupdown (then renames on it). ifupdown's own
// bridge and rollback are apply.test.ts'. One host, one backend at a time, as
// an operator moving a server from ifupdown would; kvmnode3 carries no guest
// at this point (they start on kvmnode1).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IFUPDOWN_CHECK, NM_KEYFILE_CHECK } from '../../src/render/network-files.ts';
import { ownNetworkFiles } from '../../tasks/facts/own-network-files.ts';
import { networkMethod, NM_CHECKPOINT, ROLLBACK_PID, ROLLBACK_SECONDS, UNDO_DIR } from '../../tasks/ops/network-restart.ts';
import { eventually, labExec, labSsh, labUnavailableReason, mustLabExec, parseJsonOutput, repoRoot, runHvmctl, type Ran } from './support.ts';

const skip = labUnavailableReason();
const host = 'kvmnode3';
const address = '172.21.3.12';
const dir = mkdtempSync(path.join(tmpdir(), 'hvmctl-e2e-backends-'));
const original = path.join(repoRoot, 'inventory.yaml');

type Backend = 'networkmanager' | 'netplan' | 'networkd';

/** The lab's inventory with kvmnode3 on `backend`, its port named `iface`, the cluster's gateway `gateway` and bridge `bridgeName`. */
function inventory(backend: Backend | 'ifupdown', iface = 'eth0', gateway = '172.21.3.1', bridgeName = 'br0'): string {
  const text = readFileSync(original, 'utf8')
    .replace(/^( {2}gateway: )172\.21\.3\.1\b/m, `$1${gateway}`)
    .replace(/^( {2}bridge: )br0\b/m, `$1${bridgeName}`);
  const stanza = /(\n {4}kvmnode3:\n {6}address: 172\.21\.3\.12\n {6}mac: "[^"]+"\n {6}interface: )eth0\n/;
  expect(text, 'the lab inventory names kvmnode3 as this test expects').toMatch(stanza);
  expect(text, 'the lab inventory names its bridge as this test expects').toMatch(new RegExp(`^ {2}bridge: ${bridgeName}\\b`, 'm'));
  const file = path.join(dir, `${backend}-${iface}-${gateway}-${bridgeName}.yaml`);
  writeFileSync(file, text.replace(stanza, backend === 'ifupdown' ? `$1${iface}\n` : `$1${iface}\n      network: {backend: ${backend}}\n`));
  return file;
}

/** The host's rollback ran to its end (its last step removes the undo records) and none is armed. */
const rolledBack = () => labExec(host, `test ! -e ${UNDO_DIR} && test ! -e ${ROLLBACK_PID}`).code === 0;

const sshWorks = () => labSsh(host, 'true', { timeoutMs: 10_000 }).code === 0;

/** NetworkManager's checkpoints on the host, as busctl prints the property (`ao 0`: none). */
const checkpoints = () => mustLabExec(host, 'busctl get-property org.freedesktop.NetworkManager /org/freedesktop/NetworkManager org.freedesktop.NetworkManager Checkpoints').trim();

interface Row {
  host: string;
  task: string;
  status: string;
  reason: string;
}
const results = (r: Ran) => parseJsonOutput<{ results: Row[] }>(r).results;
const restartOf = (r: Ran) => results(r).find((x) => x.host === host && /network-restart/.test(x.task));

/** The bridge as the kernel has it: its IPv4 address and its ports (no guest runs on kvmnode3 here). */
function bridge(name = 'br0'): { address: string; ports: string[] } {
  const addr = mustLabExec(host, `ip -4 -o addr show dev ${name} scope global`).trim();
  const ports = mustLabExec(host, `ip -o link show master ${name}`)
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);
  return { address: /inet (\S+)/.exec(addr)?.[1] ?? '', ports };
}

/** Who configured br0 and its port, in each backend's own words. */
const configuredBy: Record<Backend, () => void> = {
  networkmanager: () => {
    const devices = mustLabExec(host, 'nmcli -t -f DEVICE,STATE,CONNECTION device');
    expect(devices).toMatch(/^br0:connected:br0$/m);
    expect(devices).toMatch(/^eth0:connected:br0-port-eth0$/m);
  },
  netplan: () => {
    expect(mustLabExec(host, 'networkctl --no-legend list br0 eth0')).toMatch(/br0\s+bridge\s+routable\s+configured[\s\S]*eth0\s+ether\s+enslaved\s+configured|eth0\s+ether\s+enslaved\s+configured[\s\S]*br0\s+bridge\s+routable\s+configured/);
    // netplan's own rendering, not hvmctl's networkd files
    expect(mustLabExec(host, 'ls /run/systemd/network; ls /etc/systemd/network')).toMatch(/^10-netplan-br0\.network$/m);
    expect(mustLabExec(host, 'ls /etc/systemd/network')).not.toMatch(/hvmctl/);
  },
  networkd: () => {
    expect(mustLabExec(host, 'networkctl --no-legend list br0 eth0')).toMatch(/br0\s+bridge\s+routable\s+configured[\s\S]*eth0\s+ether\s+enslaved\s+configured|eth0\s+ether\s+enslaved\s+configured[\s\S]*br0\s+bridge\s+routable\s+configured/);
    expect(mustLabExec(host, 'networkctl status br0')).toMatch(/Network File: \/etc\/systemd\/network\/10-hvmctl-br0\.network/);
  },
};

/** The files each backend writes (and ifupdown's apply removes again). */
const filesOf: Record<Backend, string[]> = {
  networkmanager: ['/etc/NetworkManager/system-connections/hvmctl-br0.nmconnection', '/etc/NetworkManager/system-connections/hvmctl-br0-port.nmconnection'],
  netplan: ['/etc/netplan/60-hvmctl.yaml'],
  networkd: ['/etc/systemd/network/10-hvmctl-br0.netdev', '/etc/systemd/network/10-hvmctl-br0.network', '/etc/systemd/network/10-hvmctl-br0-port.network'],
};

/** ifupdown has the bridge, and no other backend claims it. */
function onIfupdown(): void {
  expect(mustLabExec(host, 'cat /etc/network/interfaces')).toMatch(/^iface br0 inet static$/m);
  expect(bridge()).toEqual({ address: `${address}/26`, ports: ['eth0'] });
  const nm = labExec(host, 'nmcli -t -f DEVICE,STATE device');
  if (nm.code === 0) expect(nm.stdout).not.toMatch(/^(br0|eth0):connected$/m);
  const nd = labExec(host, 'networkctl --no-legend list br0 eth0');
  if (nd.code === 0) expect(nd.stdout).not.toMatch(/configured/);
}

/**
 * The cluster's bridge renamed to lan0 on kvmnode3 (its network task only) and back to br0. Each
 * time: the restart is confirmed, the old name's bridge and the files hvmctl wrote for it are gone (NetworkManager's and networkd's carry the name), eth0 is
 * the new bridge's only port, and plan is clean. It starts by putting kvmnode3 on `backend` with br0 (a no-op after the tests before it;
 * a switch when it runs alone).
 */
function renameAndBack(backend: Backend | 'ifupdown'): void {
  const named = (b: string) => inventory(backend, 'eth0', '172.21.3.1', b);
  const own = () => mustLabExec(host, ownNetworkFiles.command).split('\n').filter((l) => l !== '');
  const apply = (file: string) => runHvmctl(['apply', '-i', file, '--limit', host, '--tags', 'network', '--json'], { timeoutMs: 300_000 });
  const start = runHvmctl(['apply', '-i', named('br0'), '--limit', host, '--json'], { timeoutMs: 600_000 });
  expect(start.code, start.stdout.slice(-3000) + start.stderr).toBe(0);
  for (const [from, to] of [['br0', 'lan0'], ['lan0', 'br0']] as const) {
    const before = own();
    const t0 = Date.now();
    const r = apply(named(to));
    // what the restart printed (hvmctl's own lines), before anything else restarts the network
    const said = labExec(host, 'grep ^hvmctl: /run/hvmctl/network-restart.log').stdout;
    expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
    expect(restartOf(r)?.status, JSON.stringify(restartOf(r))).toBe('changed');
    expect(sshWorks()).toBe(true);
    expect(bridge(to)).toEqual({ address: `${address}/26`, ports: ['eth0'] });
    const gone = () => labExec(host, `ip -o link show dev ${from}`).code !== 0;
    if (backend === 'networkmanager' && !gone()) {
      // NetworkManager may recreate it, empty (seen in earlier runs; the restart deletes it again
      // when that happened before the new bridge was up): then down, with no address and no port
      const left = labExec(host, `ip -br addr show dev ${from}`);
      expect(left.stdout.trim().split(/\s+/), `bridge ${from} kept an address`).toEqual([from, 'DOWN']);
      expect(labExec(host, `ip -o link show master ${from}`).stdout.trim(), `ports left in ${from}`).toBe('');
      process.stderr.write(`${backend}: bridge ${from} recreated by NetworkManager after the restart, down and empty\n`);
    } else expect(gone(), `bridge ${from} still there`).toBe(true);
    const old = before.filter((f) => f.includes(`hvmctl-${from}`));
    if (backend === 'networkmanager' || backend === 'networkd') expect(old.length, `${backend} names its files after the bridge`).toBeGreaterThan(0);
    expect(own().filter((f) => f.includes(`hvmctl-${from}`)), `files for ${from} left`).toEqual([]);
    const files = results(r).find((x) => x.host === host && x.task === 'network files');
    for (const f of old) expect(files?.reason).toContain(`remove ${f} (hvmctl wrote it for a bridge or port the inventory no longer names)`);
    const plan = runHvmctl(['plan', '-i', named(to), '--limit', host, '--tags', 'network']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    process.stderr.write(`${backend}: bridge ${from} renamed ${to} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${old.length} files of ${from} removed)\n${said}`);
  }
}

describe.skipIf(skip !== undefined)(`network backends on the lab's booted hosts${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => {
    const r = runHvmctl(['apply'], { timeoutMs: 600_000 });
    expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
    expect(mustLabExec(host, 'virsh -c qemu:///system list --name').trim(), 'a guest on kvmnode3').toBe('');
    onIfupdown();
  }, 700_000);

  describe.each(['networkmanager', 'netplan', 'networkd'] as const)('%s', (backend) => {
    it('a change that cuts kvmnode3 off (its port named ens3) is rolled back by the host within the bound; it is back on ifupdown as before', async () => {
      const before = mustLabExec(host, 'cat /etc/network/interfaces; ip -br addr show dev br0');
      const t0 = Date.now();
      const r = runHvmctl(['apply', '-i', inventory(backend, 'ens3'), '--limit', host, '--json'], { timeoutMs: 300_000 });
      expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(2);
      const restart = restartOf(r);
      expect(restart?.status, JSON.stringify(restart)).toBe('failed');
      expect(restart?.reason).toMatch(/unreachable after the network restart/);
      const bound = Number(/within (\d+) s/.exec(restart?.reason ?? '')?.[1]);
      expect(bound, restart?.reason).toBeGreaterThan(0);
      const back = await eventually(() => rolledBack() && sshWorks() && labExec(host, 'cat /etc/network/interfaces; ip -br addr show dev br0').stdout === before, bound * 1000 + 30_000);
      const seconds = (Date.now() - t0) / 1000;
      expect(back, `kvmnode3 not back on its old network ${seconds.toFixed(0)} s after apply started`).toBe(true);
      expect(seconds).toBeLessThan(bound + 30);
      expect(mustLabExec(host, 'tail -n 20 /var/log/hvmctl/network-rollback.log')).toMatch(/rollback done/);
      // root's only: kvmnode3 runs no balancer, so the rollback made the directory
      expect(mustLabExec(host, 'stat -c %a /var/log/hvmctl /var/log/hvmctl/network-rollback.log').trim().split('\n')).toEqual(['750', '640']);
      for (const f of filesOf[backend]) expect(labExec(host, `test -e ${f}`).code, `${f} left behind`).not.toBe(0);
      onIfupdown();
      process.stderr.write(`${backend}: cut-off change rolled back, kvmnode3 back on ifupdown ${seconds.toFixed(1)} s after apply started (bound ${bound} s)\n`);
    }, 400_000);

    it(`gets its bridge from ${backend}: the address on br0, eth0 its only port; plan then exits 0`, () => {
      const file = inventory(backend);
      const r = runHvmctl(['apply', '-i', file, '--limit', host, '--json'], { timeoutMs: 300_000 });
      expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
      expect(restartOf(r)?.status).toBe('changed');
      expect(sshWorks()).toBe(true);
      expect(bridge()).toEqual({ address: `${address}/26`, ports: ['eth0'] });
      configuredBy[backend]();
      // ifupdown brings up only lo (its comments name the bridge)
      expect(mustLabExec(host, "grep -v '^#' /etc/network/interfaces")).not.toMatch(/br0|eth0/);
      for (const f of filesOf[backend]) expect(mustLabExec(host, `stat -c %a ${f}`).trim(), f).toBe(backend === 'networkd' ? '644' : '600');
      if (backend === 'networkmanager') {
        // the check apply ran on each keyfile before it replaced anything: NetworkManager's own parser, offline
        const check = (file: string, edit: string) => labExec(host, `t=$(mktemp) && sed ${edit} ${file} > "$t" && ( ${NM_KEYFILE_CHECK.replaceAll('{}', '"$t"')} ); rc=$?; rm -f "$t"; exit $rc`).code;
        for (const f of filesOf.networkmanager) {
          expect(check(f, "-e ''"), `${f} as written`).toBe(0);
          expect(check(f, "-e 's/^type=.*/type=bridgee/'"), `${f} with an unknown type`).not.toBe(0);
          expect(check(f, "-e 's/^uuid=.*/uuid=not-a-uuid/'"), `${f} with a broken uuid`).not.toBe(0);
        }
      }
      const plan = runHvmctl(['plan', '-i', file, '--limit', host]);
      expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    });

    it.runIf(backend === 'networkmanager')('on a host already on NetworkManager, a change goes through its checkpoint, which the confirmation destroys', () => {
      const since = mustLabExec(host, 'date +%s').trim();
      for (const gateway of ['172.21.3.2', '172.21.3.1']) {
        const r = runHvmctl(['apply', '-i', inventory(backend, 'eth0', gateway), '--limit', host, '--json'], { timeoutMs: 300_000 });
        expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
        expect(restartOf(r)?.reason).toMatch(/network restarted \(NetworkManager\)/);
        expect(mustLabExec(host, 'ip -4 route show default')).toMatch(new RegExp(`^default via ${gateway.replaceAll('.', '\\.')} dev br0`, 'm'));
        expect(bridge()).toEqual({ address: `${address}/26`, ports: ['eth0'] });
        // none left behind: NetworkManager would otherwise roll this change back by itself
        expect(checkpoints()).toBe('ao 0');
      }
      const audit = mustLabExec(host, `journalctl -u NetworkManager --since @${since} --no-pager -o cat | grep -o 'op="checkpoint-[a-z]*"' || true`);
      expect(audit.trim().split('\n')).toEqual(['op="checkpoint-create"', 'op="checkpoint-destroy"', 'op="checkpoint-create"', 'op="checkpoint-destroy"']);
    });

    it.runIf(backend === 'networkmanager')('on a host already on NetworkManager, a port named wrong fails the restart (NetworkManager keeps the old port, the next boot would not); the host stays reachable and goes back to its previous keyfiles by itself', async () => {
      const state = () => mustLabExec(host, `cat ${filesOf.networkmanager.join(' ')}; ip -br addr show dev br0; ip -o link show master br0 | cut -d: -f2`);
      const before = state();
      const t0 = Date.now();
      const r = runHvmctl(['apply', '-i', inventory(backend, 'ens3'), '--limit', host, '--json'], { timeoutMs: 300_000 });
      expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(2);
      const restart = restartOf(r);
      expect(restart?.status).toBe('failed');
      expect(restart?.reason).toMatch(/ens3 is not a port of br0 after the restart/);
      expect(restart?.reason).toMatch(/still reachable and goes back to its previous network files/);
      const bound = Number(/within (\d+) s/.exec(restart?.reason ?? '')?.[1]);
      expect(sshWorks()).toBe(true);
      const back = await eventually(() => rolledBack() && labExec(host, 'true').code === 0 && state() === before, bound * 1000 + 30_000);
      const seconds = (Date.now() - t0) / 1000;
      expect(back, `kvmnode3 not back on its previous keyfiles ${seconds.toFixed(0)} s after apply started`).toBe(true);
      expect(sshWorks()).toBe(true);
      expect(checkpoints()).toBe('ao 0');
      configuredBy.networkmanager();
      const plan = runHvmctl(['plan', '-i', inventory(backend), '--limit', host]);
      expect(plan.code, plan.stdout + plan.stderr).toBe(0);
      process.stderr.write(`networkmanager: a wrong port on a NetworkManager host rolled back, previous keyfiles ${seconds.toFixed(1)} s after apply started (bound ${bound} s)\n`);
    }, 400_000);

    it.runIf(backend === 'networkmanager')("with hvmctl's rollback gone and no confirmation, NetworkManager's own checkpoint brings a cut-off host back by itself within the bound", async () => {
      // on NetworkManager first (a no-op after the tests before it; a switch when it runs alone)
      const start = runHvmctl(['apply', '-i', inventory(backend), '--limit', host, '--json'], { timeoutMs: 600_000 });
      expect(start.code, start.stdout.slice(-3000) + start.stderr).toBe(0);
      // The restart's own script for a host already on NetworkManager, run on the host with no
      // detached rollback armed (as if it had been killed) and never confirmed: what is left is the
      // checkpoint it creates, which NetworkManager rolls back by itself after ROLLBACK_SECONDS.
      const method = networkMethod('networkmanager', { bridge: 'br0', iface: 'eth0' }, { nmcli: 'nmcli', busctl: 'busctl', systemd: true, networkService: false });
      expect(method?.restart).toContain('CheckpointCreate');
      const keyfile = filesOf.networkmanager[0]!;
      expect(checkpoints()).toBe('ao 0');
      expect(labExec(host, `test ! -e ${ROLLBACK_PID}`).code, 'a rollback is armed').toBe(0);
      const since = mustLabExec(host, 'date +%s').trim();
      // the cut: br0 moved to an address off the lab's subnet (TEST-NET-1; nothing there answers)
      const cut = `-e 's#^address1=${address}/26$#address1=192.0.2.12/24#' -e 's#^gateway=172\\.21\\.3\\.1$#gateway=192.0.2.1#'`;
      const uncut = `-e 's#^address1=192\\.0\\.2\\.12/24$#address1=${address}/26#' -e 's#^gateway=192\\.0\\.2\\.1$#gateway=172.21.3.1#'`;
      mustLabExec(host, `sed -i ${cut} ${keyfile} && grep -qx 'address1=192.0.2.12/24' ${keyfile} && grep -qx 'gateway=192.0.2.1' ${keyfile}`);
      try {
        const t0 = Date.now();
        const r = labExec(host, method!.restart, { timeoutMs: 60_000 });
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(bridge().address, 'the change took effect').toBe('192.0.2.12/24');
        expect(sshWorks(), 'the operator is cut off').toBe(false);
        expect(checkpoints()).toMatch(/^ao 1 "\/org\/freedesktop\/NetworkManager\/Checkpoint\/\d+"$/);
        const back = await eventually(() => sshWorks(), (ROLLBACK_SECONDS + 30) * 1000);
        const seconds = (Date.now() - t0) / 1000;
        expect(back, `kvmnode3 not reachable again ${seconds.toFixed(0)} s after the restart (bound ${ROLLBACK_SECONDS} s)`).toBe(true);
        expect(bridge()).toEqual({ address: `${address}/26`, ports: ['eth0'] });
        expect(mustLabExec(host, 'ip -4 route show default')).toMatch(/^default via 172\.21\.3\.1 dev br0/m);
        expect(checkpoints()).toBe('ao 0');
        // NetworkManager wrote the profile it rolled back to into the keyfile too (in its own
        // format): the next boot brings up the previous address, not the one that cut it off
        const written = mustLabExec(host, `cat ${keyfile}`);
        expect(written).toMatch(new RegExp(`^address1=${address.replaceAll('.', '\\.')}/26(,172\\.21\\.3\\.1)?$`, 'm'));
        expect(written).not.toMatch(/192\.0\.2\./);
        // NetworkManager's journal names who brought it back: its own rollback of the checkpoint
        // the restart created (a rollback on expiry is no D-Bus call, so it is logged but not audited)
        const log = mustLabExec(host, `journalctl -u NetworkManager --since @${since} --no-pager -o cat`);
        const created = /\[(\d+\.\d+)\] audit: op="checkpoint-create" arg="([^"]+)"/.exec(log);
        expect(created, log.slice(-3000)).not.toBeNull();
        const rolled = new RegExp(`\\[(\\d+\\.\\d+)\\] checkpoint\\[0x[0-9a-f]+\\]: rollback of ${created![2]}$`, 'm').exec(log);
        expect(rolled, log.slice(-3000)).not.toBeNull();
        expect(log).not.toMatch(/op="checkpoint-(destroy|rollback)"/);
        const after = Number(rolled![1]) - Number(created![1]);
        expect(after, 'NetworkManager rolled back before the checkpoint expired').toBeGreaterThanOrEqual(ROLLBACK_SECONDS - 1);
        process.stderr.write(`networkmanager: with no rollback and no confirmation, NetworkManager rolled its checkpoint back ${after.toFixed(1)} s after creating it; kvmnode3 answered again ${seconds.toFixed(1)} s after the restart started (bound ${ROLLBACK_SECONDS} s)\n`);
      } finally {
        // the path of the expired checkpoint forgotten; the cut undone if NetworkManager did not
        labExec(host, `rm -f ${NM_CHECKPOINT}; if grep -q '^address1=192\\.0\\.2\\.' ${keyfile}; then sed -i ${uncut} ${keyfile}; nmcli connection reload; nmcli connection up id br0; fi`);
      }
      expect(sshWorks()).toBe(true);
      configuredBy.networkmanager();
      // apply puts its own rendering back (NetworkManager's has the same settings); plan is then clean
      const again = runHvmctl(['apply', '-i', inventory(backend), '--limit', host, '--json'], { timeoutMs: 300_000 });
      expect(again.code, again.stdout.slice(-3000) + again.stderr).toBe(0);
      expect(results(again).find((x) => x.host === host && x.task === 'network files')?.reason).toContain(`update ${keyfile}`);
      const plan = runHvmctl(['plan', '-i', inventory(backend), '--limit', host]);
      expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    }, 300_000);

    it(`after a reboot ${backend} brings the bridge up again by itself; plan exits 0`, () => {
      const r = runHvmctl(['lab', 'reboot', host], { timeoutMs: 400_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(sshWorks()).toBe(true);
      expect(bridge()).toEqual({ address: `${address}/26`, ports: ['eth0'] });
      configuredBy[backend]();
      const plan = runHvmctl(['plan', '-i', inventory(backend), '--limit', host]);
      expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    }, 450_000);

    it(`a renamed bridge: ${backend} drops the old bridge and the files hvmctl wrote for it; renamed back`, () => {
      renameAndBack(backend);
    }, 900_000);

    it(`back to ifupdown: ${backend}'s files removed, the bridge is ifupdown's; plan exits 0`, () => {
      const r = runHvmctl(['apply', '--limit', host, '--json'], { timeoutMs: 300_000 });
      expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
      expect(restartOf(r)?.status).toBe('changed');
      expect(sshWorks()).toBe(true);
      for (const f of filesOf[backend]) expect(labExec(host, `test -e ${f}`).code, `${f} left behind`).not.toBe(0);
      onIfupdown();
      // the check apply ran before /etc/network/interfaces replaced anything: ifupdown's own parser
      const check = (edit: string) => labExec(host, `t=$(mktemp) && sed ${edit} /etc/network/interfaces > "$t" && ( ${IFUPDOWN_CHECK.replaceAll('{}', '"$t"')} ); rc=$?; rm -f "$t"; exit $rc`).code;
      expect(check("-e ''")).toBe(0);
      expect(check("-e 's/inet static/inet statik/'")).not.toBe(0);
      const plan = runHvmctl(['plan']);
      expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    });
  });

  it('a renamed bridge on ifupdown: the old bridge goes with the old /etc/network/interfaces; renamed back', () => {
    renameAndBack('ifupdown');
    onIfupdown();
  }, 900_000);
});
