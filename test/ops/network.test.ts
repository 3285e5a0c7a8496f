// The network files task and the network-restart handler's safety net: pure
// plans and scripts, the handler against a fake connector (outputs captured
// from a Debian 12 container, test/fixtures/captured/network-*), and the
// scripts' file handling on a real shell in temp dirs. The trials on a real
// ifupdown host are described in test/fixtures/captured/README.md.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connector/local.ts';
import { quote } from '../../src/shell.ts';
import { ConnectError } from '../../src/errors.ts';
import type { HostSpec } from '../../src/inventory/types.ts';
import type { HandlerContext } from '../../tasks/engine/types.ts';
import { fileChange, fileRemoval, sha256 } from '../../tasks/ops/file.ts';
import { ownNetworkFiles, parseOwnNetworkFiles } from '../../tasks/facts/own-network-files.ts';
import { confirmed, networkFiles, networkRestartHandler, networkTask, restartNetworkSafely, retiredNetworkFiles, unconfirmedFact } from '../../tasks/ops/network.ts';
import {
  armScript,
  confirmScript,
  detachedRestartScript,
  disarmScript,
  dropReleasedBridgeScript,
  networkMethod,
  parseConfirmation,
  releasePortScript,
  restoreScript,
  ROLLBACK_DELAY_SECONDS,
  ROLLBACK_FIRED,
  ROLLBACK_LOG,
  ROLLBACK_PID,
  ROLLBACK_SECONDS,
  rollbackScript,
  UNDO_DIR,
  withPortCheck,
} from '../../tasks/ops/network-restart.ts';
import { testInventory } from '../engine/inventory.ts';
import { FakeConnector, FakeFleet, fail, ok, type FakeScript, type Recorded } from '../support/fake-connector.ts';

const captured = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/captured/${name}`, import.meta.url)), 'utf8');
const debianHost = testInventory.hosts[1]!;
const redhatHost: HostSpec = { ...debianHost, osFamily: 'redhat', networkBackend: 'ifcfg' };
const none = { code: 1, stdout: '', stderr: '' };
const names = { bridge: 'br0', iface: 'eth0' };
const ifupdown = networkMethod('ifupdown', names, { ifup: '/sbin/ifup', systemd: true, networkService: false })!;
const interfaces = '/etc/network/interfaces';
const legacy = '/etc/network/interfaces.d/hvmctl-br0';

function tools(found: { ifup?: boolean; ifreload?: boolean; nmcli?: boolean; systemd?: boolean; service?: boolean }): FakeScript['facts'] {
  return {
    'command:ifup': found.ifup ? ok('/usr/sbin/ifup\n') : none,
    'command:ifreload': found.ifreload ? ok('/usr/sbin/ifreload\n') : none,
    'command:nmcli': found.nmcli ? ok('/usr/bin/nmcli\n') : none,
    'init-process': ok(found.systemd ? 'systemd\n' : 'sh\n'),
    'network-service': found.service ? ok() : none,
  };
}

type ProbeAnswer = (command?: string) => Promise<{ code: number; stdout: string; stderr: string }>;

function handlerCtx(script: FakeScript, probe: ProbeAnswer, host = debianHost) {
  const log: Recorded[] = [];
  const connector = new FakeConnector(host.name, script, log);
  const probes: (string | undefined)[] = [];
  const ctx: HandlerContext = {
    inventory: testInventory,
    host,
    cluster: { get: () => undefined },
    check: false,
    connector,
    probe: (command) => {
      probes.push(command);
      return probe(command);
    },
  };
  return { ctx, log, probes, commands: () => log.filter((r) => !r.factKeys).map((r) => r.command) };
}

const fakeClock = () => {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
};

const restarted = ok(captured('network-restart-detached.stdout'), captured('network-restart-detached.stderr'));
const disarmed = async () => ok(captured('network-confirm-disarmed.stdout'));

describe('network files task', () => {
  const ctx = { inventory: testInventory, host: debianHost, check: false, cluster: { get: () => undefined } };
  const absent = { exists: false } as const;

  it('manages the whole /etc/network/interfaces on Debian hosts and ifcfg-eth0 + ifcfg-br0 on RHEL hosts, notifying network-restart', () => {
    expect(networkFiles(ctx).map((f) => f.path)).toEqual([interfaces]);
    const rh = networkFiles({ ...ctx, host: redhatHost });
    expect(rh.map((f) => f.path)).toEqual(['/etc/sysconfig/network-scripts/ifcfg-eth0', '/etc/sysconfig/network-scripts/ifcfg-br0']);
    expect(rh.every((f) => f.notify.includes('network-restart'))).toBe(true);
    // another backend's files on an EL host (it changed backends); what the installer wrote stays for ifcfg
    expect(retiredNetworkFiles({ ...ctx, host: redhatHost }).map((r) => r.path)).toEqual([
      '/etc/network/interfaces.d/hvmctl-br0',
      '/etc/NetworkManager/system-connections/hvmctl-br0-port-eth0.nmconnection',
      '/etc/systemd/network/10-hvmctl-eth0.network',
      '/etc/NetworkManager/system-connections/hvmctl-br0.nmconnection',
      '/etc/NetworkManager/system-connections/hvmctl-br0-port.nmconnection',
      '/etc/systemd/network/10-hvmctl-br0.netdev',
      '/etc/systemd/network/10-hvmctl-br0.network',
      '/etc/systemd/network/10-hvmctl-br0-port.network',
      '/etc/NetworkManager/conf.d/90-hvmctl-unmanaged.conf',
    ]);
  });

  it("Debian: removes the old interfaces.d stanza and the other backends' files first, then writes the file, each recording undo records", () => {
    const facts = networkTask.facts(ctx);
    const retired = retiredNetworkFiles(ctx).map((r) => r.path);
    expect(retired[0]).toBe(legacy);
    expect(retired).toContain('/etc/NetworkManager/system-connections/hvmctl-br0.nmconnection');
    expect(retired).toContain('/etc/netplan/60-hvmctl.yaml');
    expect(retired).toContain('/etc/systemd/network/10-hvmctl-br0.netdev');
    expect(retired.some((p) => p.includes('sysconfig')), 'Debian offers no ifcfg: nothing to look for').toBe(false);
    expect(Object.keys(facts)).toEqual(['own-network-files', ...retired, interfaces, 'network-unconfirmed']);
    const old = { exists: true, kind: 'file', mode: 0o644, owner: 'root', group: 'root', sha256: sha256('auto br0\n'), content: 'auto br0\n' } as const;
    const keyfile = '/etc/NetworkManager/system-connections/hvmctl-br0.nmconnection';
    const states = Object.fromEntries(retired.map((p) => [p, p === legacy || p === keyfile ? old : absent]));
    const plan = networkTask.plan(ctx, { ...states, [interfaces]: absent, 'network-unconfirmed': false, 'own-network-files': [] });
    expect(plan.changes.map((c) => c.summary)).toEqual([`remove ${legacy} (replaced by /etc/network/interfaces)`, `remove ${keyfile} (replaced by /etc/network/interfaces)`, `create ${interfaces}`]);
    expect(plan.changes.map((c) => c.notify)).toEqual([['network-restart'], ['network-restart'], ['network-restart']]);
    for (const c of plan.changes) expect(c.commands[0]?.script).toContain(`${UNDO_DIR}/etc/`);
  });

  it("removes the files hvmctl wrote for a bridge the inventory no longer names (renamed), keeps the current ones, removes nothing twice", () => {
    const nmHost: HostSpec = { ...debianHost, networkBackend: 'networkmanager' };
    const nmCtx = { ...ctx, host: nmHost };
    const nm = { major: 1, minor: 42, text: '1.42.4' };
    const current = networkFiles(nmCtx, { networkManager: nm }).map((f) => f.path);
    expect(current).toContain('/etc/NetworkManager/system-connections/hvmctl-br0.nmconnection');
    const renamed = ['/etc/NetworkManager/system-connections/hvmctl-lan.nmconnection', '/etc/NetworkManager/system-connections/hvmctl-lan-port.nmconnection'];
    const retired = retiredNetworkFiles(nmCtx).map((r) => r.path);
    const legacyKeyfile = retired.find((p) => p.endsWith('-port-eth0.nmconnection'))!;
    expect(legacyKeyfile, 'a retired path the search also finds').toBeDefined();
    const found = [...current.filter((p) => p.endsWith('.nmconnection')), ...renamed, legacyKeyfile].sort();
    const states = { ...Object.fromEntries([...retired, ...current].map((p) => [p, absent])), [legacyKeyfile]: { exists: true, kind: 'other' } as const };
    const facts = { ...states, 'network-unconfirmed': false, 'own-network-files': found, 'networkmanager-version': nm };
    expect(() => networkTask.plan(nmCtx, facts), 'the retired path is judged as retired (not a regular file: refused), not as a leftover').toThrow(/not a regular file/);
    const plan = networkTask.plan(nmCtx, { ...facts, [legacyKeyfile]: absent });
    const removals = plan.changes.filter((c) => c.summary.startsWith('remove '));
    expect(removals.map((c) => c.summary)).toEqual([...renamed].sort().map((p) => `remove ${p} (hvmctl wrote it for a bridge or port the inventory no longer names)`));
    for (const c of removals) {
      expect(c.notify).toEqual(['network-restart']);
      expect(c.commands[0]?.script).toContain(`${UNDO_DIR}/etc/NetworkManager/system-connections/hvmctl-lan`);
      expect(c.diff).toContain('(previous content not gathered)');
    }
    expect(plan.changes.filter((c) => !c.summary.startsWith('remove ')).map((c) => c.summary)).toEqual(current.map((p) => `create ${p}`));
    const facts0 = networkTask.facts(nmCtx);
    expect(Object.keys(facts0)[0]).toBe('own-network-files');
  });

  it('asks for a restart when an earlier apply wrote the files but never confirmed one (it was killed), and only then', () => {
    const file = networkFiles(ctx)[0]!;
    const same = { exists: true, kind: 'file', mode: 0o644, owner: 'root', group: 'root', sha256: sha256(file.content), content: file.content } as const;
    const upToDate = { ...Object.fromEntries(retiredNetworkFiles(ctx).map((r) => [r.path, absent])), [interfaces]: same, 'own-network-files': [] };
    expect(networkTask.plan(ctx, { ...upToDate, 'network-unconfirmed': false })).toEqual({ changes: [], reason: `${interfaces} already up to date` });
    const pending = networkTask.plan(ctx, { ...upToDate, 'network-unconfirmed': true });
    expect(pending.changes).toEqual([{ summary: 'restart the network: an earlier apply changed its files and never confirmed a restart', commands: [], notify: ['network-restart'] }]);
    expect(unconfirmedFact.parse(ok('unconfirmed\n'))).toBe(true);
    expect(unconfirmedFact.parse(ok('none\n'))).toBe(false);
  });

  it('the rendered file is what ifupdown was seen to read as one bridge stanza and a bare port (captured)', () => {
    const capture = captured('ifupdown-golden-kvmnode1.txt');
    const kvmnode1 = testInventory.hosts.find((h) => h.name === 'kvmnode1')!;
    const content = networkFiles({ ...ctx, host: kvmnode1 })[0]?.content ?? '';
    // re-capture with the commands in the fixture's header when the template changes
    expect(capture).toContain(`sha256 ${sha256(content)}`);
    expect(capture).toContain('$ ifquery -i $F -l\nlo\nbr0\n$');
    expect(capture).toContain('bridge_ports: eth0\n');
    expect(capture).toMatch(/\$ ifquery -i \$F eth0\n\(exit 0\)/); // a stanza with no address
    expect(capture).toContain('ip -4 addr flush dev eth0'); // what ifdown of the port does with this file
  });
});

describe('restart methods (pure)', () => {
  it.each([
    ['ifupdown', { ifreload: '/x' }, 'ifupdown2', 'ifreload -a'],
    ['ifupdown', { ifup: '/x', ifreload: undefined }, 'ifupdown', 'ifup -a --exclude=lo && ifup -a --allow=hotplug --exclude=lo'],
    ['ifcfg', { networkService: true, systemd: true }, 'network-scripts', 'systemctl restart network'],
    ['ifcfg', { networkService: true }, 'network-scripts', '/etc/init.d/network restart'],
    ['ifcfg', { nmcli: '/x' }, 'NetworkManager', 'nmcli connection up br0'],
    ['ifcfg', { ifup: '/x' }, 'ifup', 'ifdown br0 2>/dev/null; ifup eth0; ifup br0'],
  ] as const)('%s %j -> %s', (os, found, tool, restartEnds) => {
    const m = networkMethod(os, names, { systemd: false, networkService: false, ...found });
    expect(m?.tool).toBe(tool);
    expect(m?.restart.endsWith(restartEnds)).toBe(true);
  });

  it.each(['ifupdown', 'ifcfg'] as const)('%s without any tool: no method', (os) => {
    expect(networkMethod(os, names, { systemd: true, networkService: false })).toBeUndefined();
  });

  it('ifupdown: another backend whose files this apply removed forgets the bridge; down with the previous file the undo record names, then with the current one, the port bare, a stray bridge gone, then up', () => {
    expect(ifupdown.restart.split('\n')).toEqual([
      `if [ -d ${UNDO_DIR}/etc/netplan ] && command -v netplan >/dev/null; then netplan generate; fi`,
      `if { [ -d ${UNDO_DIR}/etc/systemd/network ] || [ -d ${UNDO_DIR}/etc/netplan ]; } && systemctl -q is-active systemd-networkd.service 2>/dev/null; then networkctl reload; fi`,
      `if [ -d ${UNDO_DIR}/etc/NetworkManager ] && systemctl -q is-active NetworkManager.service 2>/dev/null; then systemctl restart NetworkManager.service; fi`,
      `old=$(head -n 1 -- ${UNDO_DIR}/etc/network/interfaces 2>/dev/null || true)`,
      'if [ -n "$old" ] && [ -f "$old" ]; then ifdown -a --force --exclude=lo -i "$old"; fi',
      'ifdown -a --force --exclude=lo',
      'ip addr flush dev eth0 scope global',
      'if [ -n "$(ip -o link show dev br0 type bridge 2>/dev/null)" ]; then ip link set dev br0 down; ip link del dev br0; fi',
      ...releasePortScript(names).split('\n'),
      'ifup -a --exclude=lo && ifup -a --allow=hotplug --exclude=lo',
    ]);
  });

  it('quotes inventory names in every script', () => {
    const odd = { bridge: "br'0", iface: 'eth 0' };
    for (const [os, t] of [['ifupdown', { ifup: '/x' }], ['ifcfg', { ifup: '/x' }], ['ifcfg', { nmcli: '/x' }]] as const) {
      const m = networkMethod(os, odd, { systemd: false, networkService: false, ...t })!;
      for (const script of [m.restart, m.stop, m.start, rollbackScript(m, odd)]) {
        expect(script).not.toMatch(/[^'"]eth 0/);
        expect(script).not.toMatch(/[^\\]br'0/);
      }
    }
  });

  it("the rollback's log is root's only, and the rest of the rollback runs with the umask it had", () => {
    // its log line, run with the log under a temporary directory (the path is the only change)
    const line = rollbackScript(ifupdown, names).split('\n').find((l) => l.includes(ROLLBACK_LOG))!;
    const tmp = mkdtempSync(join(tmpdir(), 'hvmctl-rollback-log-'));
    try {
      const dir = join(tmp, 'hvmctl');
      const script = line.replaceAll(ROLLBACK_LOG, join(dir, 'network-rollback.log')).replaceAll(dirname(ROLLBACK_LOG), dir);
      const log = join(dir, 'network-rollback.log');
      const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);
      execFileSync('sh', ['-c', `umask 022; ${script}; echo logged; umask > ${quote(join(tmp, 'umask'))}`]);
      expect([mode(dir), mode(log)]).toEqual(['750', '640']);
      expect(readFileSync(log, 'utf8')).toBe('logged\n');
      // what it starts again (dhclient writing resolv.conf, say) gets root's usual umask
      expect(readFileSync(join(tmp, 'umask'), 'utf8').trim()).toBe('0022');
      // a directory and log an earlier version left open lose what others may read; a tighter
      // mode an operator chose stays
      chmodSync(dir, 0o755);
      chmodSync(log, 0o644);
      execFileSync('sh', ['-c', script]);
      expect([mode(dir), mode(log)]).toEqual(['750', '640']);
      chmodSync(dir, 0o700);
      chmodSync(log, 0o600);
      execFileSync('sh', ['-c', script]);
      expect([mode(dir), mode(log)]).toEqual(['700', '600']);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('the rollback: waits, claims the pid file, stops with the new files, restores, removes a stray bridge, starts, clears the records', () => {
    const lines = rollbackScript(ifupdown, names).split('\n');
    expect(lines[0]).toBe(`sleep ${ROLLBACK_DELAY_SECONDS}`);
    expect(lines[1]).toBe(`mv -f -- ${ROLLBACK_PID} ${ROLLBACK_FIRED} 2>/dev/null || exit 0`);
    const at = (text: string) => lines.findIndex((l) => l.replace(/^\( /, '').startsWith(text));
    expect(at('ifdown -a --force --exclude=lo')).toBeLessThan(at(`find ${UNDO_DIR} -type f`));
    expect(at(`find ${UNDO_DIR} -type f`)).toBeLessThan(at('if [ -n "$(ip -o link show dev br0 type bridge'));
    expect(at('if [ -n "$(ip -o link show dev br0 type bridge')).toBeLessThan(at('ifup -a --exclude=lo'));
    expect(at('ifup -a --exclude=lo')).toBeLessThan(at(`rm -rf -- ${UNDO_DIR}`));
    expect(ROLLBACK_DELAY_SECONDS).toBeLessThan(ROLLBACK_SECONDS);
  });

  it.each([
    ['ifupdown', ifupdown],
    ['ifcfg network-scripts', networkMethod('ifcfg', names, { systemd: true, networkService: true })!],
    ['ifcfg nmcli', networkMethod('ifcfg', names, { systemd: true, networkService: false, nmcli: '/x' })!],
  ])('%s: every script is valid sh', async (_, m) => {
    const local = new LocalConnector();
    for (const script of [m.restart, armScript(m, names), detachedRestartScript(m.restart), confirmScript(), disarmScript()]) {
      const r = await local.run('sh -n', { input: script });
      expect(r, script).toMatchObject({ code: 0, stderr: '' });
    }
  });
});

describe('confirmation output (parsed from captured output)', () => {
  it('reads the detached restart, a confirmation that disarmed, one that found the rollback fired, and arming', () => {
    expect(parseConfirmation(captured('network-restart-detached.stdout'))).toEqual({ restart: { state: 'done', code: 0 }, log: [] });
    expect(parseConfirmation(captured('network-confirm-disarmed.stdout'))).toEqual({
      restart: { state: 'done', code: 0 },
      rollback: 'disarmed',
      log: ["device br0 already exists; can't create bridge with the same name", 'RTNETLINK answers: Operation not supported'],
    });
    expect(parseConfirmation(captured('network-confirm-fired.stdout'))).toEqual({ restart: { state: 'unknown' }, rollback: 'fired', log: [] });
    expect(parseConfirmation(captured('network-arm.stdout'))).toEqual({ restart: { state: 'unknown' }, rollback: 'none', log: [] });
    expect(parseConfirmation('restart-running\n')).toEqual({ restart: { state: 'running' }, log: [] });
    expect(parseConfirmation('')).toEqual({ restart: { state: 'unknown' }, log: [] });
  });
});

describe('network-restart safety net', () => {
  it('skips where the host has no ifupdown/NetworkManager, dropping the undo records nothing will use', async () => {
    const { ctx, commands, probes } = handlerCtx({ facts: tools({}) }, disarmed);
    const outcome = await restartNetworkSafely(ctx);
    expect(outcome).toEqual({ status: 'skipped', reason: 'no ifupdown/NetworkManager on this host; files written, restart by hand' });
    expect(commands()).toEqual([`rm -rf -- ${UNDO_DIR}`]);
    expect(probes).toEqual([]);
  });

  it('arms the rollback, restarts detached, confirms on a NEW connection (which disarms)', async () => {
    const { ctx, commands, probes } = handlerCtx({ facts: tools({ ifup: true }), answers: [['restart-rc', restarted]] }, disarmed);
    const outcome = await restartNetworkSafely(ctx, fakeClock());
    expect(outcome).toEqual({ status: 'changed', reason: 'network restarted (ifupdown); reachable over a new connection, rollback disarmed' });
    expect(commands()).toEqual([armScript(ifupdown, names), detachedRestartScript(withPortCheck(ifupdown.restart, names))]);
    expect(probes).toEqual([confirmScript()]);
  });

  it('a restart that failed leaves the rollback armed: reported failed, with the bound the host goes back within', () => {
    const c = parseConfirmation('restart-rc=3\nrestart-log: hvmctl: ens3 is not a port of br0 after the restart (10 s)\nrollback=left\n');
    expect(c).toEqual({ restart: { state: 'done', code: 3 }, rollback: 'left', log: ['hvmctl: ens3 is not a port of br0 after the restart (10 s)'] });
    expect(confirmed(c, ifupdown, [interfaces])).toEqual({
      status: 'failed',
      reason: `network restart (ifupdown) exited 3: hvmctl: ens3 is not a port of br0 after the restart (10 s); the host is still reachable and goes back to its previous network files (interfaces) by itself within ${ROLLBACK_SECONDS} s (see /var/log/hvmctl/network-rollback.log there)`,
    });
  });

  it('the confirmation says what it found: a rollback disarmed, or none armed any more (its pid file gone)', () => {
    const disarmedFailed = parseConfirmation('restart-rc=2\nrollback=disarmed\n');
    expect(confirmed(disarmedFailed, ifupdown, [interfaces])).toEqual({ status: 'failed', reason: 'network restart (ifupdown) exited 2; host still reachable, rollback disarmed; check its network' });
    const noneFailed = parseConfirmation('restart-rc=2\nrestart-log: ifup: failed\nrollback=none\n');
    expect(confirmed(noneFailed, ifupdown, [interfaces])).toEqual({
      status: 'failed',
      reason: 'network restart (ifupdown) exited 2: ifup: failed; host still reachable, no rollback was armed any more (its pid file was gone), so nothing puts the previous network files back; check its network',
    });
    const noneOk = parseConfirmation('restart-rc=0\nrollback=none\n');
    expect(confirmed(noneOk, ifupdown, [interfaces])).toEqual({ status: 'changed', reason: 'network restarted (ifupdown); reachable over a new connection, no rollback was armed any more (its pid file was gone)' });
    expect(confirmed(parseConfirmation('restart-rc=0\nrollback=disarmed\n'), ifupdown, [interfaces]).reason).toBe('network restarted (ifupdown); reachable over a new connection, rollback disarmed');
  });

  it('the port check runs after the restart, and a failed restart ends it with its own status', async () => {
    const script = withPortCheck('exit 5', { bridge: "br'0", iface: 'eth 0' });
    expect(script.split('\n')[0]).toBe('( exit 5');
    expect(script).toContain(`ip -o link show dev 'eth 0' master 'br'\\''0'`);
    expect(await new LocalConnector().run(script)).toMatchObject({ code: 5 });
  });

  it('a restart that cuts the session is fine when the host answers a new connection', async () => {
    const script: FakeScript = { facts: tools({ ifup: true }), answers: [[/restart-rc/, () => { throw new ConnectError('kvmnode1', 'connection lost'); }]] };
    const { ctx } = handlerCtx(script, disarmed);
    expect((await restartNetworkSafely(ctx, fakeClock())).status).toBe('changed');
  });

  it('asks again while the restart is still running', async () => {
    const answers = [ok('restart-running\n'), ok(captured('network-confirm-disarmed.stdout'))];
    const { ctx, probes } = handlerCtx({ facts: tools({ ifup: true }) }, async () => answers.shift() ?? fail());
    expect((await restartNetworkSafely(ctx, fakeClock())).status).toBe('changed');
    expect(probes).toHaveLength(2);
  });

  it('keeps probing until the deadline (counted from arming), then fails with the bound the host rolls back within', async () => {
    let attempts = 0;
    const { ctx, probes } = handlerCtx({ facts: tools({ ifup: true }) }, async () => {
      attempts += 1;
      throw new ConnectError('kvmnode1', 'unreachable: 172.21.3.10:22: connect timed out');
    });
    const outcome = await restartNetworkSafely(ctx, { ...fakeClock(), probeDeadlineMs: 10_000, probeIntervalMs: 2000 });
    expect(outcome).toEqual({
      status: 'failed',
      reason:
        'host unreachable after the network restart (kvmnode1: unreachable: 172.21.3.10:22: connect timed out); it restores the previous network files (interfaces) ' +
        'and restarts its network by itself within 60 s (see /var/log/hvmctl/network-rollback.log there)',
    });
    expect(attempts).toBe(6);
    expect(probes.every((p) => p === confirmScript())).toBe(true);
  });

  it('a host that answers only after its rollback started is reported as rolled back, not restarted', async () => {
    const { ctx } = handlerCtx({ facts: tools({ ifup: true }) }, async () => ok(captured('network-confirm-fired.stdout')));
    const outcome = await restartNetworkSafely(ctx, fakeClock());
    expect(outcome).toEqual({
      status: 'failed',
      reason: `network change not confirmed in time (${ROLLBACK_DELAY_SECONDS} s); the host went back to its previous network files (interfaces) by itself within 60 s (see /var/log/hvmctl/network-rollback.log there)`,
    });
  });

  it('recovers when the host comes back before the deadline', async () => {
    let attempts = 0;
    const { ctx } = handlerCtx({ facts: tools({ nmcli: true }) }, async () => {
      attempts += 1;
      if (attempts < 3) throw new ConnectError('kvmnode1', 'unreachable');
      return disarmed();
    }, redhatHost);
    expect((await restartNetworkSafely(ctx, fakeClock())).status).toBe('changed');
    expect(attempts).toBe(3);
  });

  it('does not restart when the rollback cannot be armed', async () => {
    const { ctx, commands } = handlerCtx({ facts: tools({ ifup: true }), answers: [[ROLLBACK_PID, fail(1, 'read-only file system')]] }, disarmed);
    const outcome = await restartNetworkSafely(ctx, fakeClock());
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('read-only file system');
    expect(commands()).toHaveLength(1);
  });

  it('a restart that failed on a host still reachable is reported as failed with its output (rollback disarmed)', async () => {
    const confirmation = 'restart-rc=1\nrestart-log: ifup: failed to bring up br0\nrollback=disarmed\n';
    const { ctx } = handlerCtx({ facts: tools({ ifup: true }) }, async () => ok(confirmation));
    const outcome = await restartNetworkSafely(ctx, fakeClock());
    expect(outcome).toEqual({ status: 'failed', reason: 'network restart (ifupdown) exited 1: ifup: failed to bring up br0; host still reachable, rollback disarmed; check its network' });
  });
});

describe('scripts on a real shell', () => {
  const dirs: string[] = [];
  const temp = () => {
    const d = mkdtempSync(join(tmpdir(), 'hvmctl-net-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const local = new LocalConnector();

  it('writes record the state before the FIRST unconfirmed write; the restore puts it back (content, mode) and removes what was new', async () => {
    const dir = temp();
    const opts = { backupDir: join(temp(), 'backups'), undoDir: join(temp(), 'undo') };
    const conf = join(dir, 'interfaces');
    const added = join(dir, 'added');
    writeFileSync(conf, 'installer\n');
    chmodSync(conf, 0o640);
    const group = (await local.run('id -gn')).stdout.trim();
    const file = (path: string, content: string) => ({ path, content, mode: 0o644, owner: userInfo().username, group, notify: [], tags: [], template: 't' });
    for (const [path, content] of [[conf, 'bridge 1\n'], [conf, 'bridge 2\n'], [added, 'new\n']] as const) {
      const change = fileChange(file(path, content), readFileState(path), opts);
      const r = await local.run(change?.commands[0]?.script ?? 'false', { input: content });
      expect(r.code, r.stderr).toBe(0);
    }
    expect(readFileSync(conf, 'utf8')).toBe('bridge 2\n');
    // a leftover found on the host (a renamed bridge's file) removed with an undo record
    const leftover = join(dir, 'hvmctl-lan.nmconnection');
    writeFileSync(leftover, '[connection]\n');
    chmodSync(leftover, 0o600);
    const removal = fileRemoval({ path: leftover, why: 'renamed', notify: [] }, opts);
    expect((await local.run(removal.commands[0]?.script ?? 'false')).code).toBe(0);
    expect(existsSync(leftover)).toBe(false);
    const r = await local.run(restoreScript(opts.undoDir));
    expect(r.code).toBe(0);
    expect(readFileSync(conf, 'utf8')).toBe('installer\n');
    expect(statSync(conf).mode & 0o777).toBe(0o640);
    expect(existsSync(added)).toBe(false);
    expect(readFileSync(leftover, 'utf8')).toBe('[connection]\n');
    expect(statSync(leftover).mode & 0o777).toBe(0o600);
    expect(r.stdout).toContain(`restored ${conf} from ${opts.backupDir}${conf}.`);
    expect(r.stdout).toContain(`restored ${leftover} from ${opts.backupDir}${leftover}.`);
    expect(r.stdout).toContain(`removed ${added}`);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('the search for the network files hvmctl wrote lists regular files with its header, in the searched places only', async () => {
    const root = temp();
    const at = (p: string) => join(root, p);
    const header = '# Managed by hvmctl (templates/x.hbs): local changes are overwritten by `hvmctl apply`.\n';
    const files: Record<string, string> = {
      'etc/NetworkManager/system-connections/hvmctl-lan.nmconnection': header,
      'etc/NetworkManager/system-connections/hvmctl-lan-port.nmconnection': `#!/bin/true\n${header}`,
      'etc/NetworkManager/system-connections/hvmctl-mine.nmconnection': '[connection]\n', // no header: the operator's
      'etc/NetworkManager/system-connections/other.nmconnection': header, // not hvmctl's name
      'etc/systemd/network/10-hvmctl-lan.netdev': header,
      'etc/systemd/network/10-hvmctl-lan.network': header,
      'etc/systemd/network/20-hvmctl-lan.network': header,
      'etc/network/interfaces.d/hvmctl-lan': header,
      'etc/sysconfig/network-scripts/ifcfg-lan': header,
      'etc/sysconfig/network-scripts/ifcfg-eth1': 'DEVICE=eth1\n',
    };
    for (const [p, text] of Object.entries(files)) {
      await local.run(`mkdir -p "$(dirname '${at(p)}')"`);
      writeFileSync(at(p), text);
    }
    await local.run(`ln -s ${at('etc/systemd/network/10-hvmctl-lan.netdev')} ${at('etc/systemd/network/10-hvmctl-link.netdev')}`);
    await local.run(`mkdir ${at('etc/network/interfaces.d/hvmctl-dir')}`);
    const r = await local.run(ownNetworkFiles.command.replaceAll(' /etc/', ` ${root}/etc/`));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(
      [
        'etc/NetworkManager/system-connections/hvmctl-lan.nmconnection',
        'etc/NetworkManager/system-connections/hvmctl-lan-port.nmconnection',
        'etc/systemd/network/10-hvmctl-lan.netdev',
        'etc/systemd/network/10-hvmctl-lan.network',
        'etc/network/interfaces.d/hvmctl-lan',
        'etc/sysconfig/network-scripts/ifcfg-lan',
      ]
        .map(at)
        .sort(),
    );
    // nothing there: no line, no error (the globs stay unexpanded and are skipped)
    const none = await local.run(ownNetworkFiles.command.replaceAll(' /etc/', ` ${temp()}/etc/`));
    expect(none).toMatchObject({ code: 0, stdout: '' });
    expect(parseOwnNetworkFiles('')).toEqual([]);
    expect(() => parseOwnNetworkFiles('/etc/passwd\n')).toThrow(/unexpected line/);
    expect(() => parseOwnNetworkFiles('/etc/systemd/network/10-hvmctl-*.netdev\n')).toThrow(/unexpected line/);
    expect(() => parseOwnNetworkFiles('', 2)).toThrow(/exited 2/);
  });

  it.skipIf(process.getuid?.() !== 0)('a port left in another bridge (the old name, after a rename): that bridge is deleted; the port in its own bridge, or in none, changes nothing', async () => {
    const names = { bridge: 'hvnew0', iface: 'hvport0' };
    const inNetns = (setup: string) =>
      local.run(`unshare -n sh -c ${quote(`set -e; ip link add hvport0 type veth peer name hvpeer0; ${setup}\n${releasePortScript(names, 'echo first')}\necho; ip -o link show type bridge | sed -n 's/^[0-9]*: \\([^:]*\\):.*/\\1/p'`)}`);
    const old = await inNetns('ip link add hvold0 type bridge; ip link set hvport0 master hvold0; ip link add hvnew0 type bridge');
    expect(old.code, old.stderr).toBe(0);
    expect(old.stdout).toBe('first\nhvmctl: hvport0 was a port of hvold0, not of hvnew0: hvold0 deleted\n\nhvnew0\n');
    const own = await inNetns('ip link add hvnew0 type bridge; ip link set hvport0 master hvnew0; ip link add hvold0 type bridge');
    expect(own.stdout).toBe('\nhvnew0\nhvold0\n');
    const bare = await inNetns('ip link add hvold0 type bridge');
    expect(bare.stdout).toBe('\nhvold0\n');
  });

  it.skipIf(process.getuid?.() !== 0)('after the new bridge is up, the released bridge, recreated empty, is deleted; one with a port, the own bridge, or a non-bridge stays', async () => {
    const names = { bridge: 'hvnew0', iface: 'hvport0' };
    const inNetns = (setup: string, m: string) =>
      local.run(`unshare -n sh -c ${quote(`set -e; ip link add hvport0 type veth peer name hvpeer0; ip link add hvnew0 type bridge; ip link set hvport0 master hvnew0; ${setup}\nm=${m}\n${dropReleasedBridgeScript(names)}\necho "rc=$?"; ip -o link show | sed -n 's/^[0-9]*: \\([^:@]*\\)[:@].*/\\1/p' | grep '^hv' | sort`)}`);
    const empty = await inNetns('ip link add hvold0 type bridge', 'hvold0');
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toBe('hvmctl: hvold0, recreated empty by NetworkManager, deleted again\nrc=0\nhvnew0\nhvpeer0\nhvport0\n');
    const withPort = await inNetns('ip link add hvold0 type bridge; ip link add hvx0 type veth peer name hvx1; ip link set hvx0 master hvold0', 'hvold0');
    expect(withPort.stdout).toBe('rc=0\nhvnew0\nhvold0\nhvpeer0\nhvport0\nhvx0\nhvx1\n');
    const own = await inNetns('true', 'hvnew0');
    expect(own.stdout).toBe('rc=0\nhvnew0\nhvpeer0\nhvport0\n');
    const veth = await inNetns('ip link add hvold0 type veth peer name hvold1', 'hvold0');
    expect(veth.stdout).toBe('rc=0\nhvnew0\nhvold0\nhvold1\nhvpeer0\nhvport0\n');
    const unset = await inNetns('ip link add hvold0 type bridge', "''");
    expect(unset.stdout).toBe('rc=0\nhvnew0\nhvold0\nhvpeer0\nhvport0\n');
  });

  it.skipIf(process.getuid?.() !== 0)('detached restart and confirmation report the outcome; arm leaves one detached process that a confirmation kills', async () => {
    const harmless = { tool: 'test', restart: 'echo restarting; exit 3', stop: 'true', start: 'true' };
    const bridge = { bridge: 'hvmctltest0', iface: 'hvmctltest1' };
    try {
      const restart = await local.run(detachedRestartScript(harmless.restart));
      expect(restart.stdout).toBe('restart-rc=3\n');
      expect(restart.stderr).toBe('restarting\n');
      expect((await local.run(armScript(harmless, bridge))).code).toBe(0);
      const pid = readFileSync(ROLLBACK_PID, 'utf8').trim();
      expect((await local.run(`ps -o args= -p ${pid}`)).stdout).toContain(`sleep ${ROLLBACK_DELAY_SECONDS}`);
      // a restart that failed leaves the rollback armed: the host goes back as if it had been cut off
      await local.run(detachedRestartScript(harmless.restart));
      expect(parseConfirmation((await local.run(confirmScript())).stdout)).toEqual({ restart: { state: 'done', code: 3 }, rollback: 'left', log: ['restarting'] });
      expect(readFileSync(ROLLBACK_PID, 'utf8').trim()).toBe(pid);
      // one that succeeded claims it
      await local.run(detachedRestartScript('echo restarted'));
      expect(parseConfirmation((await local.run(confirmScript())).stdout)).toEqual({ restart: { state: 'done', code: 0 }, rollback: 'disarmed', log: ['restarted'] });
      await new Promise((r) => setTimeout(r, 100));
      const group = await local.run(`ps -eo pgid=,stat=,args= | awk '$1 == ${pid} && $2 !~ /Z/'`);
      expect(group.stdout).toBe('');
      expect(existsSync(ROLLBACK_PID)).toBe(false);
      // a rollback that already claimed the pid file wins: the confirmation says so
      const fast = armScript(harmless, bridge).replace(`sleep ${ROLLBACK_DELAY_SECONDS}`, 'sleep 0');
      await local.run(fast);
      await local.run(`i=0; until [ -e ${ROLLBACK_FIRED} ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i+1)); done`);
      expect(parseConfirmation((await local.run(confirmScript())).stdout).rollback).toBe('fired');
    } finally {
      await local.run(disarmScript());
      await local.run(`rm -rf /run/hvmctl`);
    }
  });
});

function readFileState(path: string) {
  if (!existsSync(path)) return { exists: false } as const;
  const content = readFileSync(path, 'utf8');
  const st = statSync(path);
  return { exists: true, kind: 'file', mode: st.mode & 0o777, owner: 'x', group: 'x', sha256: sha256(content), content } as const;
}

describe('network handler in the runner', () => {
  it('is reported skipped where there is no tool and does not stop the host', async () => {
    const { runPlaybook } = await import('../../tasks/engine/runner.ts');
    const retired = retiredNetworkFiles({ inventory: testInventory, host: debianHost, check: false }).map((r) => [`file:${r.path}`, ok('absent\n')]);
    const fleet = new FakeFleet({ kvmnode1: { facts: { ...tools({}), [`file:${interfaces}`]: ok('absent\n'), ...Object.fromEntries(retired), 'network-unconfirmed': ok('none\n') } } });
    const report = await runPlaybook({ inventory: testInventory, tasks: [networkTask as never], handlers: [networkRestartHandler], hosts: [debianHost], connect: (h) => fleet.connect(h.name) });
    expect(report.results.map((r) => [r.status, r.task, r.reason])).toEqual([
      ['changed', 'network files', `create ${interfaces}`],
      ['skipped', 'handler network-restart', 'no ifupdown/NetworkManager on this host; files written, restart by hand'],
    ]);
    expect(report.recap[0]).toMatchObject({ changed: 1, skipped: 1, failed: 0 });
  });
});

describe('the backends added for issue 13: facts -> commands', () => {
  const debianTools = { systemd: true, networkService: false, ifup: '/sbin/ifup' };
  const bare = { systemd: true, networkService: false };
  const nm = networkMethod('networkmanager', names, { ...bare, nmcli: '/x', busctl: '/x' })!;

  it.each([
    ['networkmanager', { nmcli: '/x' }, 'busctl missing: no checkpoint, no method'],
    ['networkmanager', { nmcli: '/x', busctl: '/x', systemd: false }, 'no systemd'],
    ['netplan', {}, 'no netplan'],
    ['networkd', { networkctl: '/x', systemd: false }, 'no systemd'],
  ] as const)('%s %j: undefined (%s)', (backend, found, _why) => {
    expect(networkMethod(backend, names, { ...bare, ...found })).toBeUndefined();
  });

  it('NetworkManager: a checkpoint NetworkManager rolls back by itself after the bound, then reload and up; the rollback rolls it back, the confirmation destroys it', () => {
    expect(nm.tool).toBe('NetworkManager');
    const lines = nm.restart.split('\n');
    expect(lines[0]).toMatch(/^cp=\$\(busctl call org\.freedesktop\.NetworkManager \/org\/freedesktop\/NetworkManager org\.freedesktop\.NetworkManager CheckpointCreate aouu 0 60 7\) \|\| \{/);
    const release = releasePortScript(names).split('\n');
    // reload before the old bridge goes: with its profile still loaded NetworkManager recreates it
    const drop = dropReleasedBridgeScript(names).split('\n');
    // and after the new bridge is up, the old one NetworkManager recreated empty goes again
    expect(lines.slice(-2 - release.length - drop.length)).toEqual(['nmcli connection reload || exit $?', ...release, 'nmcli connection up id br0 || exit $?', ...drop]);
    expect(nm.stop).toContain('CheckpointRollback o "$(cat /run/hvmctl/nm-checkpoint)"');
    expect(nm.confirm).toContain('CheckpointDestroy o "$(cat /run/hvmctl/nm-checkpoint)"');
    expect(confirmScript(nm.confirm).split('\n').at(-1)).toBe(`if [ ! -e ${ROLLBACK_FIRED} ]; then rm -rf -- ${UNDO_DIR}; ${nm.confirm}; fi`);
    expect(ROLLBACK_SECONDS).toBe(60);
  });

  it("where ifupdown is still there (Debian's installer), the restart first takes its previous file down and the rollback brings it up", () => {
    const leave = [
      `old=$(head -n 1 -- ${UNDO_DIR}/etc/network/interfaces 2>/dev/null || true)`,
      'if [ -n "$old" ] && [ -f "$old" ]; then ifdown -a --force --exclude=lo -i "$old"; fi',
      'ip addr flush dev eth0 scope global',
    ];
    for (const [backend, extra] of [['netplan', { netplan: '/x' }], ['networkd', { networkctl: '/x' }]] as const) {
      const m = networkMethod(backend, names, { ...debianTools, ...extra })!;
      expect(m.restart.split('\n').slice(1, 4)).toEqual(leave);
      expect(m.start.split('\n').at(-1)).toBe('ifup -a --exclude=lo; ifup -a --allow=hotplug --exclude=lo');
      const without = networkMethod(backend, names, { ...bare, ...extra })!;
      expect(without.restart).not.toContain('ifdown');
      expect(without.start).not.toContain('ifup');
    }
    // NetworkManager's ifupdown plugin reads which devices to leave alone only at its start: leaving
    // ifupdown restarts it (no checkpoint survives that), and so does the rollback back to ifupdown
    const m = networkMethod('networkmanager', names, { ...debianTools, nmcli: '/x', busctl: '/x' })!;
    const release = releasePortScript(names).split('\n');
    const drop = dropReleasedBridgeScript(names).split('\n');
    expect(m.restart.split('\n').slice(0, 9 + release.length + drop.length)).toEqual([
      leave[0],
      'if [ -n "$old" ] && [ -f "$old" ]; then',
      '  ifdown -a --force --exclude=lo -i "$old"',
      '  ip addr flush dev eth0 scope global',
      ...releasePortScript(names, 'nmcli connection reload')
        .split('\n')
        .map((l) => `  ${l}`),
      '  systemctl restart NetworkManager.service',
      '  nmcli connection up id br0 || exit $?',
      ...drop.map((l) => `  ${l}`),
      '  exit 0',
      'fi',
    ]);
    expect(m.restart.split('\n').slice(-2 - release.length - drop.length)).toEqual(['nmcli connection reload || exit $?', ...release, 'nmcli connection up id br0 || exit $?', ...drop]);
    expect(m.start.split('\n')).toEqual(['systemctl restart NetworkManager.service', 'ifup -a --exclude=lo; ifup -a --allow=hotplug --exclude=lo']);
    expect(nm.restart).not.toContain('ifdown');
    expect(nm.start).toBe('nmcli connection reload');
  });

  it('netplan: generate, then networkd restarted (never `netplan apply`, whose udevadm trigger fails where /sys is read-only, nor `netplan try`); networkd: enabled and restarted; both restart an active NetworkManager where its drop-in changed', () => {
    const dropIn = `if [ -e ${UNDO_DIR}/etc/NetworkManager/conf.d/90-hvmctl-unmanaged.conf ] && systemctl -q is-active NetworkManager.service 2>/dev/null; then systemctl restart NetworkManager.service; fi`;
    const always = 'if systemctl -q is-active NetworkManager.service 2>/dev/null; then systemctl restart NetworkManager.service; fi';
    const np = networkMethod('netplan', names, { ...bare, netplan: '/x' })!;
    const release = releasePortScript(names);
    expect([np.tool, np.restart, np.stop, np.start]).toEqual(['netplan', `${dropIn}\n${release}\nnetplan generate && systemctl restart systemd-networkd.service`, 'true', `${always}\nnetplan generate; systemctl restart systemd-networkd.service`]);
    expect(networkMethod('netplan', names, { ...bare, netplan: '/x', systemd: false })).toBeUndefined();
    const nd = networkMethod('networkd', names, { ...bare, networkctl: '/x' })!;
    expect([nd.tool, nd.restart, nd.start]).toEqual([
      'systemd-networkd',
      `${dropIn}\n${release}\nsystemctl enable systemd-networkd.service && systemctl restart systemd-networkd.service`,
      `${always}\nsystemctl restart systemd-networkd.service`,
    ]);
  });

  it('every script is valid sh, and inventory names are quoted', async () => {
    const local = new LocalConnector();
    const odd = { bridge: "br'0", iface: 'eth 0' };
    for (const [backend, extra] of [['networkmanager', { nmcli: '/x', busctl: '/x' }], ['netplan', { netplan: '/x' }], ['networkd', { networkctl: '/x' }]] as const) {
      const m = networkMethod(backend, odd, { ...debianTools, ...extra })!;
      for (const script of [m.restart, m.stop, m.start, armScript(m, odd), detachedRestartScript(m.restart), confirmScript(m.confirm), rollbackScript(m, odd)]) {
        expect(script).not.toMatch(/[^'"]eth 0/);
        expect(script).not.toMatch(/[^\\]br'0/);
        const r = await local.run('sh -n', { input: script });
        expect(r, script).toMatchObject({ code: 0, stderr: '' });
      }
    }
  });

  it('the handler: tool facts of the backend, skipped with what is missing, confirmation carrying the checkpoint destroy', async () => {
    const nmHost: HostSpec = { ...debianHost, osFamily: 'redhat', networkBackend: 'networkmanager' };
    const skipped = handlerCtx({ facts: { ...tools({ nmcli: true, systemd: true }), 'command:busctl': none, 'command:netplan': none, 'command:networkctl': none } }, disarmed, nmHost);
    expect(await restartNetworkSafely(skipped.ctx)).toEqual({ status: 'skipped', reason: 'no nmcli and busctl with systemd (NetworkManager) on this host; files written, restart by hand' });
    const facts = { ...tools({ nmcli: true, systemd: true }), 'command:busctl': ok('/usr/bin/busctl\n'), 'command:netplan': none, 'command:networkctl': none };
    const run = handlerCtx({ facts, answers: [['restart-rc', restarted]] }, disarmed, nmHost);
    expect((await restartNetworkSafely(run.ctx, fakeClock())).status).toBe('changed');
    expect(run.probes).toEqual([confirmScript(nm.confirm)]);
    expect(run.commands()[1]).toBe(detachedRestartScript(withPortCheck(nm.restart, names)));
  });
});
