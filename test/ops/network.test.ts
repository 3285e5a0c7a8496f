import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connector/local.ts';
import { ConnectError } from '../../src/errors.ts';
import type { HostSpec } from '../../src/inventory/types.ts';
import type { HandlerContext } from '../../tasks/engine/types.ts';
import { armScript, disarmScript, networkFiles, networkTask, restartNetworkSafely, restartScript, rollbackScript, ROLLBACK_PID } from '../../tasks/ops/network.ts';
import { FakeConnector, FakeFleet, fail, ok, type FakeScript, type Recorded } from '../support/fake-connector.ts';
import { testInventory } from '../engine/inventory.ts';

const debianHost = testInventory.hosts[1]!;
const redhatHost: HostSpec = { ...debianHost, osFamily: 'redhat' };
const none = { code: 1, stdout: '', stderr: '' };

function tools(found: { ifup?: boolean; ifreload?: boolean; nmcli?: boolean; systemd?: boolean; service?: boolean }): FakeScript['facts'] {
  return {
    'command:ifup': found.ifup ? ok('/usr/sbin/ifup\n') : none,
    'command:ifreload': found.ifreload ? ok('/usr/sbin/ifreload\n') : none,
    'command:nmcli': found.nmcli ? ok('/usr/bin/nmcli\n') : none,
    'init-process': ok(found.systemd ? 'systemd\n' : 'sh\n'),
    'network-service': found.service ? ok() : none,
  };
}

function handlerCtx(script: FakeScript, probe: (command?: string) => Promise<{ code: number; stdout: string; stderr: string }>, host = debianHost) {
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
  return { ctx, log, probes };
}

const fakeClock = () => {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
};

describe('network files task', () => {
  it('manages the Debian stanza on Debian hosts and ifcfg-eth0 + ifcfg-br0 on RHEL hosts, notifying network-restart', () => {
    const ctx = { inventory: testInventory, host: debianHost, check: false };
    expect(networkFiles(ctx).map((f) => f.path)).toEqual(['/etc/network/interfaces.d/hvmctl-br0']);
    const rh = networkFiles({ ...ctx, host: redhatHost });
    expect(rh.map((f) => f.path)).toEqual(['/etc/sysconfig/network-scripts/ifcfg-eth0', '/etc/sysconfig/network-scripts/ifcfg-br0']);
    expect(rh.every((f) => f.notify.includes('network-restart'))).toBe(true);
    const plan = networkTask.plan({ ...ctx, host: redhatHost, cluster: { get: () => undefined } }, Object.fromEntries(rh.map((f) => [f.path, { exists: false }])));
    expect(plan.changes.map((c) => c.notify)).toEqual([['network-restart'], ['network-restart']]);
  });
});

describe('restart method (pure)', () => {
  it.each([
    ['debian', { ifreload: '/x' }, 'ifreload -a'],
    ['debian', { ifup: '/x' }, 'ifdown --force br0 2>/dev/null; ifdown --force eth0 2>/dev/null; ifup br0'],
    ['debian', {}, undefined],
    ['redhat', { networkService: true, systemd: true }, 'systemctl restart network'],
    ['redhat', { networkService: true }, '/etc/init.d/network restart'],
    ['redhat', { nmcli: '/x' }, 'nmcli connection reload && nmcli connection up br0'],
    ['redhat', {}, undefined],
  ] as const)('%s %j -> %s', (os, found, expected) => {
    expect(restartScript(os, 'br0', 'eth0', { systemd: false, networkService: false, ...found })).toBe(expected);
  });
});

describe('network-restart safety net', () => {
  it('skips (files stay written) where the host has no ifupdown/NetworkManager, as in the lab', async () => {
    const { ctx, log, probes } = handlerCtx({ facts: tools({}) }, async () => ok());
    const outcome = await restartNetworkSafely(ctx);
    expect(outcome).toEqual({ status: 'skipped', reason: 'no ifupdown/NetworkManager on this host; files written, restart by hand' });
    expect(log.filter((r) => !r.factKeys)).toEqual([]);
    expect(probes).toEqual([]);
  });

  it('arms the rollback, restarts, reconnects on a NEW connection and disarms', async () => {
    const { ctx, log, probes } = handlerCtx({ facts: tools({ ifreload: true }) }, async () => ok());
    const outcome = await restartNetworkSafely(ctx, fakeClock());
    expect(outcome.status).toBe('changed');
    const commands = log.filter((r) => !r.factKeys).map((r) => r.command);
    expect(commands).toEqual([armScript(['/etc/network/interfaces.d/hvmctl-br0'], 'ifreload -a'), 'ifreload -a']);
    expect(probes).toEqual([disarmScript()]);
  });

  it('a restart that cuts the session is fine when the host answers a new connection', async () => {
    const script: FakeScript = { facts: tools({ ifup: true }), answers: [[/^ifdown/, () => { throw new ConnectError('kvmnode1', 'connection lost'); }]] };
    const { ctx } = handlerCtx(script, async () => ok());
    expect((await restartNetworkSafely(ctx, fakeClock())).status).toBe('changed');
  });

  it('keeps probing until the deadline, then fails saying the host rolls back by itself', async () => {
    let attempts = 0;
    const { ctx, probes } = handlerCtx({ facts: tools({ ifreload: true }) }, async () => {
      attempts += 1;
      throw new ConnectError('kvmnode1', 'unreachable: connect timed out');
    });
    const outcome = await restartNetworkSafely(ctx, { ...fakeClock(), probeDeadlineMs: 10_000, probeIntervalMs: 2000 });
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('restores the previous network files (hvmctl-br0) and restarts its network by itself within 60 s');
    expect(attempts).toBe(6);
    expect(probes.every((p) => p === disarmScript())).toBe(true);
  });

  it('recovers when the host comes back before the deadline', async () => {
    let attempts = 0;
    const { ctx } = handlerCtx({ facts: tools({ nmcli: true }) }, async () => {
      attempts += 1;
      if (attempts < 3) throw new ConnectError('kvmnode1', 'unreachable');
      return ok();
    }, redhatHost);
    expect((await restartNetworkSafely(ctx, fakeClock())).status).toBe('changed');
    expect(attempts).toBe(3);
  });

  it('does not restart when the rollback cannot be armed', async () => {
    const { ctx, log } = handlerCtx({ facts: tools({ ifreload: true }), answers: [[ROLLBACK_PID, fail(1, 'read-only file system')]] }, async () => ok());
    const outcome = await restartNetworkSafely(ctx, fakeClock());
    expect(outcome.status).toBe('failed');
    expect(log.map((r) => r.command)).not.toContain('ifreload -a');
  });

  it('a restart failure with the host still reachable is reported as failed (rollback disarmed)', async () => {
    const { ctx } = handlerCtx({ facts: tools({ ifreload: true }), answers: [['ifreload -a', fail(1, 'error: br0: bad config')]] }, async () => ok());
    const outcome = await restartNetworkSafely(ctx, fakeClock());
    expect(outcome).toMatchObject({ status: 'failed' });
    expect(outcome.reason).toContain('bad config');
  });
});

describe('rollback scripts on a real shell', () => {
  it('the rollback restores the backup, removes a file that had none, and restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvmctl-net-'));
    try {
      const a = join(dir, 'ifcfg-br0');
      const b = join(dir, 'ifcfg-eth0');
      writeFileSync(a, 'new');
      writeFileSync(`${a}.hvmctl-bak`, 'old');
      writeFileSync(b, 'new only');
      const script = rollbackScript([a, b], `echo restarted > ${join(dir, 'log')}`).replace(/^sleep \d+; /, '').replace(/; rm -f -- \S+$/, '');
      const r = await new LocalConnector().run(script);
      expect(r.code).toBe(0);
      expect(readFileSync(a, 'utf8')).toBe('old');
      expect(existsSync(b)).toBe(false);
      expect(readFileSync(join(dir, 'log'), 'utf8')).toBe('restarted\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(process.getuid?.() !== 0)('arm leaves a detached waiting process whose pid is recorded; disarm kills it and removes the pid file', async () => {
    const local = new LocalConnector();
    const dir = mkdtempSync(join(tmpdir(), 'hvmctl-net-'));
    const marker = join(dir, 'restarted');
    try {
      expect((await local.run(armScript([join(dir, 'x')], `touch ${marker}`))).code).toBe(0);
      const pid = readFileSync(ROLLBACK_PID, 'utf8').trim();
      expect((await local.run(`kill -0 ${pid}`)).code).toBe(0);
      expect((await local.run(`ps -eo pgid=,args= | awk '$1 == ${pid}'`)).stdout).toMatch(/sleep 60/);
      expect((await local.run(`ps -o args= -p ${pid}`)).stdout).toContain('sleep 60');
      expect((await local.run(disarmScript())).code).toBe(0);
      await new Promise((r) => setTimeout(r, 100));
      // nothing of its process group is left running (a reaped-later zombie does not count)
      const group = await local.run(`ps -eo pgid=,stat=,args= | awk '$1 == ${pid} && $2 !~ /Z/'`);
      expect(group.stdout).toBe('');
      expect(existsSync(ROLLBACK_PID)).toBe(false);
      expect(existsSync(marker)).toBe(false);
    } finally {
      await local.run(disarmScript());
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('network handler in the runner', () => {
  it('is reported skipped in the lab case and does not stop the host', async () => {
    const { runPlaybook } = await import('../../tasks/engine/runner.ts');
    const { networkRestartHandler } = await import('../../tasks/ops/network.ts');
    const fleet = new FakeFleet({ kvmnode1: { facts: { ...tools({}), 'file:/etc/network/interfaces.d/hvmctl-br0': ok('absent\n') } } });
    const report = await runPlaybook({ inventory: testInventory, tasks: [networkTask], handlers: [networkRestartHandler], hosts: [debianHost], connect: (h) => fleet.connect(h.name) });
    expect(report.results.map((r) => [r.status, r.task, r.reason])).toEqual([
      ['changed', 'network files', 'create /etc/network/interfaces.d/hvmctl-br0'],
      ['skipped', 'handler network-restart', 'no ifupdown/NetworkManager on this host; files written, restart by hand'],
    ]);
    expect(report.recap[0]).toMatchObject({ changed: 1, skipped: 1, failed: 0 });
  });
});
