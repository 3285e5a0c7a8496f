import { describe, expect, it } from 'vitest';
import type { HostSpec } from '../../src/inventory/types.ts';
import { ConnectError } from '../../src/errors.ts';
import { sh } from '../../src/shell.ts';
import { exitCode } from '../../tasks/engine/result.ts';
import { runPlaybook, type RunnerOptions } from '../../tasks/engine/runner.ts';
import { selectHosts, selectTasks } from '../../tasks/engine/select.ts';
import type { Fact, Handler, Stage, Task } from '../../tasks/engine/types.ts';
import { FakeFleet, fail, ok } from '../support/fake-connector.ts';
import { testInventory } from './inventory.ts';

const textFact = (key: string, command: string): Fact<string> => ({ key, command, parse: (r) => r.stdout.trim() });
/** What the key tasks below publish, and the trust tasks look up by the fact itself. */
const pubkeyFact = textFact('pubkey', 'cat /root/.ssh/id_ed25519.pub');

/** A task that wants `marker:<name>` to say "done"; otherwise writes it and notifies `notify`. */
function markerTask(name: string, stage: Stage, opts: { notify?: Handler['name'][]; applies?: (h: HostSpec) => boolean; tags?: string[] } = {}): Task<{ state: string }> {
  return {
    name,
    tags: opts.tags ?? [name],
    stage,
    applies: opts.applies ?? (() => true),
    facts: () => ({ state: textFact(`marker:${name}`, sh`cat /tmp/${name}`) }),
    plan: (_ctx, facts) =>
      facts.state === 'done'
        ? { changes: [], reason: `${name} already done` }
        : { changes: [{ summary: `do ${name}`, commands: [{ script: sh`echo done > /tmp/${name}` }], notify: opts.notify ?? [] }], reason: '' },
  };
}

const handlers: Handler[] = [
  { name: 'exportfs', commands: () => [{ script: 'exportfs -ra' }] },
  { name: 'pool-refresh', commands: () => [{ script: 'virsh pool-refresh default' }] },
];

function options(fleet: FakeFleet, tasks: Task[], extra: Partial<RunnerOptions> = {}): RunnerOptions {
  return { inventory: testInventory, tasks, handlers, hosts: testInventory.hosts, connect: (h) => fleet.connect(h.name), ...extra };
}

describe('runner', () => {
  it('gathers every fact of the run in one round trip per host, and does nothing when all is done', async () => {
    const fleet = new FakeFleet({});
    const tasks = [markerTask('a', 'base'), markerTask('b', 'base'), markerTask('c', 'storage')];
    const allDone = Object.fromEntries(['a', 'b', 'c'].map((n) => [`marker:${n}`, ok('done\n')]));
    for (const h of testInventory.hosts) fleet.scripts[h.name] = { facts: allDone };
    const report = await runPlaybook(options(fleet, tasks));
    expect(fleet.batches('kvmnode1').map((b) => b.factKeys)).toEqual([['hvmctl:operator-address', 'marker:a', 'marker:b', 'marker:c']]);
    expect(fleet.commands('kvmnode1')).toEqual([]);
    expect(report.recap.every((r) => r.ok === 3 && r.changed === 0)).toBe(true);
    expect(exitCode(report, 'apply')).toBe(0);
    expect(exitCode(report, 'plan')).toBe(0);
  });

  it('gathers again, once per later stage, after something was executed on the host; passes the operator address', async () => {
    const fleet = new FakeFleet({ kvmnode1: { facts: { 'hvmctl:operator-address': ok('10.0.0.5 51234 22\n'), 'marker:b': ok('done\n') } } });
    const seen: (string | undefined)[] = [];
    const spy: Task<Record<string, never>> = { name: 'spy', tags: ['spy'], stage: 'trust', applies: () => true, facts: () => ({}), plan: (ctx) => (seen.push(ctx.operatorAddress), { changes: [], reason: 'ok' }) };
    await runPlaybook(options(fleet, [markerTask('a', 'base'), markerTask('b', 'storage'), spy], { hosts: [testInventory.hosts[1]!] }));
    expect(fleet.batches('kvmnode1').map((b) => b.factKeys)).toEqual([['hvmctl:operator-address', 'marker:a', 'marker:b'], ['marker:b']]);
    expect(seen).toEqual(['10.0.0.5']);
  });

  it('runs a handler once per host even when several changes notified it, after the stage tasks', async () => {
    const fleet = new FakeFleet({});
    const tasks = [markerTask('a', 'storage', { notify: ['exportfs'] }), markerTask('b', 'storage', { notify: ['exportfs'] })];
    const report = await runPlaybook(options(fleet, tasks, { hosts: [testInventory.hosts[0]!] }));
    expect(fleet.commands('kvmstorage')).toEqual(['echo done > /tmp/a', 'echo done > /tmp/b', 'exportfs -ra']);
    expect(report.results.map((r) => `${r.status} ${r.task}`)).toEqual(['changed a', 'changed b', 'changed handler exportfs']);
    expect(exitCode(report, 'apply')).toBe(0);
  });

  it('check mode executes nothing, says "would", reports handlers as "would run" and plan exits 2', async () => {
    const fleet = new FakeFleet({});
    const report = await runPlaybook(options(fleet, [markerTask('a', 'storage', { notify: ['exportfs'] })], { check: true }));
    for (const h of testInventory.hosts) expect(fleet.commands(h.name)).toEqual([]);
    const mine = report.results.filter((r) => r.host === 'kvmnode1');
    expect(mine.map((r) => [r.status, r.task, r.reason])).toEqual([
      ['changed', 'a', 'would do a'],
      ['changed', 'handler exportfs', 'would run'],
    ]);
    expect(exitCode(report, 'plan')).toBe(2);
  });

  it('a failing host stops there; the other hosts go on; apply exits 2', async () => {
    const fleet = new FakeFleet({ kvmnode2: { answers: [['echo done > /tmp/a', fail(1, 'disk full')]] } });
    const tasks = [markerTask('a', 'base'), markerTask('b', 'base'), markerTask('c', 'hypervisor')];
    const report = await runPlaybook(options(fleet, tasks));
    expect(fleet.commands('kvmnode2')).toEqual(['echo done > /tmp/a']);
    expect(fleet.commands('kvmnode3')).toEqual(['echo done > /tmp/a', 'echo done > /tmp/b', 'echo done > /tmp/c']);
    const recap = Object.fromEntries(report.recap.map((r) => [r.host, r]));
    expect(recap.kvmnode2).toMatchObject({ failed: 1, changed: 0, unreachable: 0 });
    expect(recap.kvmnode2?.error?.message).toContain('disk full');
    expect(recap.kvmnode1).toMatchObject({ failed: 0, changed: 3 });
    expect(exitCode(report, 'apply')).toBe(2);
    expect(exitCode(report, 'plan')).toBe(1);
  });

  it('an unreachable host is in the recap; the others go on; exit 3', async () => {
    const fleet = new FakeFleet({ kvmnode3: { unreachable: true } });
    const report = await runPlaybook(options(fleet, [markerTask('a', 'base')]));
    const recap = Object.fromEntries(report.recap.map((r) => [r.host, r]));
    expect(recap.kvmnode3).toMatchObject({ unreachable: 1, ok: 0, changed: 0 });
    expect(recap.kvmnode3?.error?.message).toContain('unreachable');
    expect(recap.kvmnode1?.changed).toBe(1);
    expect(exitCode(report, 'apply')).toBe(3);
    expect(exitCode(report, 'plan')).toBe(3);
  });

  it('storage finishes before any hypervisor starts, and publish facts reach later stages', async () => {
    const order: string[] = [];
    const fleet = new FakeFleet({
      kvmstorage: { answers: [[/echo done/, (c) => (order.push(`kvmstorage ${c}`), ok())]] },
      kvmnode1: { facts: { 'pubkey': ok('ssh-ed25519 AAAA kvmnode1\n') }, answers: [[/echo done/, (c) => (order.push(`kvmnode1 ${c}`), ok())]] },
    });
    const seen: (string | undefined)[] = [];
    const trust: Task<Record<string, never>> = {
      name: 'trust',
      tags: ['trust'],
      stage: 'trust',
      applies: (h) => h.name === 'kvmnode2',
      facts: () => ({}),
      plan: (ctx) => {
        seen.push(ctx.cluster.get('kvmnode1', pubkeyFact));
        return { changes: [], reason: 'nothing' };
      },
    };
    const keys: Task<Record<string, never>> = {
      name: 'keys',
      tags: ['keys'],
      stage: 'hypervisor',
      applies: (h) => h.role === 'hypervisor',
      facts: () => ({}),
      plan: () => ({ changes: [], reason: 'nothing' }),
      publish: () => [pubkeyFact],
    };
    await runPlaybook(
      options(fleet, [markerTask('mount', 'hypervisor', { applies: (h) => h.role === 'hypervisor' }), markerTask('export', 'storage', { applies: (h) => h.role === 'storage' }), keys, trust], {
        hosts: testInventory.hosts.slice(0, 3),
      }),
    );
    expect(order).toEqual(['kvmstorage echo done > /tmp/export', 'kvmnode1 echo done > /tmp/mount']);
    expect(seen).toEqual(['ssh-ed25519 AAAA kvmnode1']);
  });

  it('publish facts are gathered even when --tags left their stage out', async () => {
    const fleet = new FakeFleet({ kvmnode1: { facts: { pubkey: ok('KEY1\n') } } });
    const seen: (string | undefined)[] = [];
    const keys: Task<Record<string, never>> = {
      name: 'keys',
      tags: ['keys'],
      stage: 'hypervisor',
      applies: () => true,
      facts: () => ({}),
      plan: () => ({ changes: [{ summary: 'make key', commands: [{ script: 'ssh-keygen' }] }], reason: '' }),
      publish: () => [pubkeyFact],
    };
    const trust: Task<Record<string, never>> = {
      name: 'trust',
      tags: ['trust'],
      stage: 'trust',
      applies: (h) => h.name === 'kvmnode2',
      facts: () => ({}),
      plan: (ctx) => (seen.push(ctx.cluster.get('kvmnode1', pubkeyFact)), { changes: [], reason: 'ok' }),
    };
    const all = [keys, trust];
    await runPlaybook(options(fleet, all, { hosts: testInventory.hosts.slice(1, 3), selected: new Set(selectTasks(all, ['trust'])) }));
    expect(fleet.commands('kvmnode1')).not.toContain('ssh-keygen');
    expect(seen).toEqual(['KEY1']);
  });

  it('stops starting commands after an abort, and says it was interrupted', async () => {
    const controller = new AbortController();
    const fleet = new FakeFleet({
      kvmstorage: { answers: [['echo done > /tmp/a', () => (controller.abort(), ok())]] },
    });
    const report = await runPlaybook(options(fleet, [markerTask('a', 'base'), markerTask('b', 'base')], { hosts: testInventory.hosts.slice(0, 1), signal: controller.signal }));
    expect(fleet.commands('kvmstorage')).toEqual(['echo done > /tmp/a']);
    expect(report.interrupted).toBe(true);
    expect(exitCode(report, 'apply')).toBe(130);
  });

  it('runs at most `forks` hosts at a time', async () => {
    let running = 0;
    let peak = 0;
    const slow = async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
      return ok();
    };
    const fleet = new FakeFleet(Object.fromEntries(testInventory.hosts.map((h) => [h.name, { answers: [[/echo done/, () => ok()]] as const }])));
    const tasks: Task[] = [
      {
        name: 'slow',
        tags: ['slow'],
        stage: 'base',
        applies: () => true,
        facts: () => ({}),
        plan: () => ({ changes: [{ summary: 'sleep', commands: [{ script: 'sleep' }] }], reason: '' }),
      },
    ];
    const conns = new Map<string, number>();
    await runPlaybook({
      ...options(fleet, tasks, { forks: 2 }),
      connect: async (h) => {
        conns.set(h.name, (conns.get(h.name) ?? 0) + 1);
        const c = await fleet.connect(h.name);
        return { host: c.host, close: () => c.close(), run: async (cmd, o) => (cmd === 'sleep' ? slow() : c.run(cmd, o)) };
      },
    });
    expect(peak).toBe(2);
    expect([...conns.values()]).toEqual([1, 1, 1, 1]);
  });
});

describe('selection', () => {
  it('--limit takes host names, FQDNs and groups, keeps inventory order, rejects unknown names', () => {
    expect(selectHosts(testInventory, ['kvmnode2', 'storage']).map((h) => h.name)).toEqual(['kvmstorage', 'kvmnode2']);
    expect(selectHosts(testInventory, ['hypervisors']).map((h) => h.name)).toEqual(['kvmnode1', 'kvmnode2', 'kvmnode3']);
    expect(selectHosts(testInventory, ['kvmnode3.localdomain']).map((h) => h.name)).toEqual(['kvmnode3']);
    expect(() => selectHosts(testInventory, ['kvmnode9'])).toThrow(/no host or group named 'kvmnode9'/);
  });

  it('--tags selects tasks carrying any of the tags and rejects unknown tags', () => {
    const tasks = [markerTask('a', 'base', { tags: ['hosts', 'base'] }), markerTask('b', 'base', { tags: ['firewall'] })];
    expect(selectTasks(tasks, ['firewall', 'base']).map((t) => t.name)).toEqual(['a', 'b']);
    expect(selectTasks(tasks, ['hosts']).map((t) => t.name)).toEqual(['a']);
    expect(selectTasks(tasks, undefined).map((t) => t.name)).toEqual(['a', 'b']);
    expect(() => selectTasks(tasks, [])).toThrow(/--tags names nothing/);
    expect(() => selectHosts(testInventory, [])).toThrow(/--limit names nothing/);
    expect(() => selectTasks(tasks, ['firewall', 'x-none'])).toThrow(/unknown tag x-none/);
  });
});

describe('handlers that cut the connection', () => {
  it('reconnect for the stages that follow, and the probe runs on a new connection', async () => {
    const fleet = new FakeFleet({});
    let cut = false;
    const connectors: string[] = [];
    const probeRuns: string[] = [];
    const restart: Handler = {
      name: 'network-restart',
      execute: async (ctx) => {
        cut = true;
        const r = await ctx.probe('echo probe');
        probeRuns.push(r.stdout);
        return { status: 'changed', reason: 'restarted' };
      },
    };
    const report = await runPlaybook({
      ...options(fleet, [markerTask('net', 'base', { notify: ['network-restart'] }), markerTask('later', 'trust')], { hosts: [testInventory.hosts[1]!] }),
      handlers: [restart],
      connect: async (h) => {
        const c = await fleet.connect(h.name);
        const id = `conn${connectors.length}`;
        connectors.push(id);
        return {
          host: c.host,
          close: () => c.close(),
          run: async (cmd, o) => {
            if (cut && id === 'conn0') throw new Error('connection lost');
            if (cmd === 'echo probe') return ok(`${id}\n`);
            return c.run(cmd, o);
          },
        };
      },
    });
    expect(probeRuns).toEqual(['conn1\n']);
    expect(connectors).toEqual(['conn0', 'conn1', 'conn2']);
    expect(report.results.map((r) => `${r.status} ${r.task}`)).toEqual(['changed net', 'changed handler network-restart', 'changed later']);
  });
});

describe('a handler that leaves the host unreachable', () => {
  it('is reported with its own reason (not the failed reconnect), and nothing more runs on that host', async () => {
    const fleet = new FakeFleet({});
    let cut = false;
    const restart: Handler = {
      name: 'network-restart',
      execute: async () => {
        cut = true;
        return { status: 'failed', reason: 'host unreachable after the network restart; it restores the previous network files by itself within 60 s' };
      },
    };
    const report = await runPlaybook({
      ...options(fleet, [markerTask('net', 'base', { notify: ['network-restart', 'exportfs'] }), markerTask('later', 'trust')], { hosts: [testInventory.hosts[1]!] }),
      handlers: [restart, ...handlers.filter((h) => h.name === 'exportfs')],
      connect: async (h) => {
        if (cut) throw new ConnectError(h.name, 'unreachable: connect timed out');
        const c = await fleet.connect(h.name);
        return { host: c.host, close: () => c.close(), run: async (cmd, o) => (cut ? Promise.reject(new Error('connection lost')) : c.run(cmd, o)) };
      },
    });
    expect(report.results.map((r) => `${r.status} ${r.task}: ${r.reason}`)).toEqual([
      'changed net: do net',
      'failed handler network-restart: host unreachable after the network restart; it restores the previous network files by itself within 60 s',
    ]);
    expect(report.recap[0]).toMatchObject({ failed: 1 });
  });
});

describe('prefetch', () => {
  it('a later fact that cannot be read before the packages stage is asked for again at its stage', async () => {
    let installed = false;
    const fleet = new FakeFleet({
      kvmnode1: {
        answers: [
          ['virsh pool-info', () => (installed ? ok('running\n') : { code: 127, stdout: '', stderr: 'virsh: not found' })],
          ['install libvirt', () => ((installed = true), ok())],
        ],
      },
    });
    const pkg: Task<Record<string, never>> = {
      name: 'packages', tags: ['packages'], stage: 'packages', applies: () => true, facts: () => ({}),
      plan: () => ({ changes: [{ summary: 'install libvirt', commands: [{ script: 'install libvirt' }] }], reason: '' }),
    };
    const pool: Task<{ state: string }> = {
      name: 'pool', tags: ['pool'], stage: 'hypervisor', applies: () => true,
      facts: () => ({ state: { key: 'pool-info', command: 'virsh pool-info default', parse: (r) => { if (r.code !== 0) throw new Error(r.stderr); return r.stdout.trim(); } } }),
      plan: (_ctx, f) => ({ changes: [], reason: `pool ${f.state}` }),
    };
    const report = await runPlaybook(options(fleet, [pkg, pool], { hosts: [testInventory.hosts[1]!] }));
    expect(report.results.map((r) => `${r.status} ${r.task} ${r.reason}`)).toEqual(['changed packages install libvirt', 'ok pool pool running']);
    expect(fleet.batches('kvmnode1').map((b) => b.factKeys)).toEqual([['hvmctl:operator-address', 'pool-info'], ['pool-info']]);
  });
});

describe('check mode on a host that is not set up yet', () => {
  it('skips a task whose facts cannot be read until an earlier change is made, and goes on', async () => {
    const fleet = new FakeFleet({ kvmnode1: { answers: [['virsh pool-info', { code: 127, stdout: '', stderr: 'virsh: not found' }]] } });
    const pkg: Task<Record<string, never>> = {
      name: 'packages', tags: ['packages'], stage: 'packages', applies: () => true, facts: () => ({}),
      plan: () => ({ changes: [{ summary: 'install libvirt', commands: [{ script: 'install libvirt' }] }], reason: '' }),
    };
    const pool: Task<{ state: string }> = {
      name: 'pool', tags: ['pool'], stage: 'hypervisor', applies: () => true,
      facts: () => ({ state: { key: 'pool-info', command: 'virsh pool-info default', parse: (r) => { if (r.code !== 0) throw new Error(r.stderr); return r.stdout.trim(); } } }),
      plan: () => ({ changes: [], reason: 'fine' }),
    };
    const report = await runPlaybook(options(fleet, [pkg, pool, markerTask('after', 'trust')], { hosts: [testInventory.hosts[1]!], check: true }));
    expect(report.results.map((r) => `${r.status} ${r.task}`)).toEqual(['changed packages', 'skipped pool', 'changed after']);
    expect(report.results[1]?.reason).toBe('facts unreadable until the changes above are made (pool-info)');
    expect(exitCode(report, 'plan')).toBe(2);
    // without a pending change the same unreadable fact is a failure
    const strict = await runPlaybook(options(fleet, [pool], { hosts: [testInventory.hosts[1]!], check: true }));
    expect(strict.results.map((r) => `${r.status} ${r.task}`)).toEqual(['failed gather facts']);
  });
});

describe('a task that says it skipped', () => {
  it('is reported skipped by its `skipped` field, with its reason as written; a reason alone never makes a status', async () => {
    const fleet = new FakeFleet({});
    const plain = (name: string, result: { reason: string; skipped?: true }): Task<Record<string, never>> => ({
      name, tags: [name], stage: 'base', applies: () => true, facts: () => ({}), plan: () => ({ changes: [], ...result }),
    });
    const report = await runPlaybook(options(fleet, [plain('boot', { reason: 'firewalld is the backend', skipped: true }), plain('other', { reason: 'skipped: only words' })], { hosts: [testInventory.hosts[1]!] }));
    expect(report.results.map((r) => [r.status, r.task, r.reason])).toEqual([
      ['skipped', 'boot', 'firewalld is the backend'],
      ['ok', 'other', 'skipped: only words'],
    ]);
    expect(report.recap[0]).toMatchObject({ ok: 1, skipped: 1 });
  });
});
