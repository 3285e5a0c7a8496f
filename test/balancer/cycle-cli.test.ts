// The entry points around the cycle: the agent's argv handling, the
// `hvmctl balance` CLI's local/remote dispatch, and the agent bundle.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentMain, parseAgentArgs, type AgentEnv } from '../../balancer/agent.ts';
import { buildAgentBundle, bundleAgent } from '../../balancer/bundle.ts';
import { readAgentConfig } from '../../balancer/config.ts';
import { acquireLock } from '../../balancer/lock.ts';
import { run } from '../../cli/balance.ts';
import type { CliIo } from '../../cli/io.ts';
import type { Connector } from '../../src/connector/connector.ts';
import type { Inventory } from '../../src/inventory/types.ts';
import { seedCluster } from './fake-cluster.ts';

function captureIo(): CliIo & { outText: string[]; errText: string[] } {
  const outText: string[] = [];
  const errText: string[] = [];
  return { out: (t) => outText.push(t), err: (t) => errText.push(t), tty: false, env: {}, cwd: '/tmp', outText, errText };
}

function writeConfig(dir: string, extra: Record<string, unknown> = {}): string {
  const file = join(dir, 'balancer.json');
  writeFileSync(
    file,
    JSON.stringify({
      managedBy: 'hvmctl', strategy: 'home',
      home: { hosts: ['kvmnode1'], helpers: ['kvmnode2', 'kvmnode3'], high: 80, low: 50, overloadWindow: 2, calmWindow: 3, cooldown: 600 },
      maxMigrationsPerRun: 1, migrationTimeout: 120, sampleSeconds: 5, cpuSource: 'procstat', schedule: '* * * * *', pinned: [], drained: [],
      hosts: ['kvmnode1', 'kvmnode2', 'kvmnode3'].map((n, i) => ({ name: n, address: `172.21.3.${10 + i}`, fqdn: `${n}.localdomain`, role: 'hypervisor' })),
      libvirtUri: 'qemu+ssh://{fqdn}/system',
      log: join(dir, 'balancer.log'), state: join(dir, 'state.json'), lock: join(dir, 'balancer.lock'), drains: join(dir, 'drains.json'),
      ...extra,
    }),
  );
  return file;
}

function fakeEnv(cluster: ReturnType<typeof seedCluster>, io: ReturnType<typeof captureIo>, self: string): AgentEnv {
  return {
    io,
    clock: cluster.clock,
    exec: async () => {
      throw new Error('no process may be started');
    },
    decide: (snapshot) => ({
      migrations: snapshot.vms.filter((v) => v.name === 'server2' && v.host === 'kvmnode1').map((v) => ({ vm: v.name, from: v.host, to: 'kvmnode2', kind: 'migrate' as const, reason: 'test', fallbacks: [] })),
      reasons: ['test plan'],
    }),
    loadConfig: (p) => readAgentConfig(p, self),
    libvirt: cluster,
    files: cluster,
  };
}

describe('several homes, one cluster', () => {
  it('one agent acts per run: the one holding the cluster lease; the other does nothing and says who acts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvmctl-lease-'));
    try {
      const shared = { leader: join(dir, 'shared', 'leader.lock'), state: join(dir, 'shared', 'state.json'), drains: join(dir, 'shared', 'drains.json') };
      const home2 = writeConfig(mkdtempSync(join(dir, 'kvmnode2-')), shared);
      const cluster = seedCluster();
      const io = captureIo();
      // kvmnode1's agent is in its run: it holds the lease.
      const held = acquireLock(shared.leader, 4242, 'kvmnode1');
      expect(held.acquired).toBe(true);
      expect(await agentMain(['once', '--json', '--config', home2], fakeEnv(cluster, io, 'kvmnode2'))).toBe(0);
      expect(JSON.parse(io.outText.pop()!)).toMatchObject({ ran: false, holder: 4242, message: expect.stringMatching(/another home's agent \(pid 4242 on kvmnode1\) holds the cluster lease/) });
      expect(cluster.calls.filter((c) => c.startsWith('migrate'))).toEqual([]);
      expect(await agentMain(['move', 'server2', 'kvmnode3', '--config', home2], fakeEnv(cluster, io, 'kvmnode2'))).toBe(75);
      // Its host is gone (the kernel, or the NFS server, drops the lock): the next run here acts.
      if (held.acquired) held.release();
      expect(await agentMain(['once', '--config', home2], fakeEnv(cluster, io, 'kvmnode2'))).toBe(0);
      expect(cluster.runningOn('server2')).toEqual(['kvmnode2']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a drain lives in a file of its own: a lost state file undrains nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvmctl-drains-'));
    try {
      const configFile = writeConfig(dir);
      const cluster = seedCluster();
      const io = captureIo();
      expect(await agentMain(['drain', 'kvmnode3', '--config', configFile], fakeEnv(cluster, io, 'kvmnode1'))).toBe(0);
      expect(await agentMain(['once', '--config', configFile], fakeEnv(cluster, io, 'kvmnode1'))).toBe(0);
      rmSync(join(dir, 'state.json'));
      expect(await agentMain(['status', '--config', configFile], fakeEnv(cluster, io, 'kvmnode1'))).toBe(0);
      expect(io.outText.pop()).toMatch(/kvmnode3\s+drained/);
      // A corrupt drains file stops the run instead of undraining.
      writeFileSync(join(dir, 'drains.json'), '{"drained": [');
      expect(await agentMain(['once', '--config', configFile], fakeEnv(cluster, io, 'kvmnode1'))).not.toBe(0);
      expect(io.errText.join('\n')).toMatch(/drains file .* is corrupt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('agent', () => {
  it('parses its argv', () => {
    expect(parseAgentArgs(['once', '--dry-run', '--json', '--config', '/x.json'])).toMatchObject({ command: 'once', dryRun: true, json: true, config: '/x.json' });
    expect(parseAgentArgs(['log', '-n', '5'])).toMatchObject({ command: 'log', n: 5 });
    expect(() => parseAgentArgs(['run', '--interval', '0'])).toThrow(/--interval 0: expected a number from 1 to 86400/);
    expect(() => parseAgentArgs(['once', '--bogus'])).toThrow(/unknown option/);
  });

  it('refuses a flag or an argument its command does not take, instead of ignoring it', () => {
    // a dry run of move or drain would otherwise do the real thing
    expect(() => parseAgentArgs(['move', 'server1', 'kvmnode2', '--dry-run'])).toThrow(/move takes no --dry-run/);
    expect(() => parseAgentArgs(['drain', 'kvmnode2', '--dry-run'])).toThrow(/drain takes no --dry-run/);
    expect(() => parseAgentArgs(['undrain', 'kvmnode2', '--interval', '5'])).toThrow(/undrain takes no --interval/);
    expect(() => parseAgentArgs(['log', 'extra'])).toThrow(/log takes no argument \(got extra\)/);
    expect(() => parseAgentArgs(['once', 'server1'])).toThrow(/once takes no argument/);
    expect(() => parseAgentArgs(['drain'])).toThrow(/drain needs exactly HOST/);
    expect(() => parseAgentArgs(['move', 'a', 'b', 'c'])).toThrow(/move needs exactly VM HOST/);
    // beyond 2^31 ms a timer fires at once: a day is the most
    expect(() => parseAgentArgs(['move', 'a', 'b', '--timeout', '2200000'])).toThrow(/from 1 to 86400/);
    expect(() => parseAgentArgs(['run', '--interval', '0x10'])).toThrow(/expected a number/);
    expect(() => parseAgentArgs(['log', '-n', '0'])).toThrow(/-n 0: expected a whole number from 1/);
    expect(() => parseAgentArgs(['log', '-n', '2.5'])).toThrow(/whole number/);
    expect(parseAgentArgs(['move', 'a', 'b', '--timeout', '90', '--json', '--config=/c.json'])).toMatchObject({ positional: ['a', 'b'], timeout: 90, json: true, config: '/c.json' });
    expect(parseAgentArgs(['run', '--dry-run', '--interval', '30'])).toMatchObject({ dryRun: true, interval: 30 });
  });

  it('runs once, drains, logs and reports status against a fake cluster', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvmctl-agent-'));
    try {
      const configFile = writeConfig(dir);
      const cluster = seedCluster();
      const io = captureIo();
      const env = fakeEnv(cluster, io, 'kvmnode1');
      expect(await agentMain(['drain', 'kvmnode3', '--config', configFile], env)).toBe(0);
      expect(io.outText.pop()).toMatch(/kvmnode3 drained.*drained now: kvmnode3/);
      expect(await agentMain(['once', '--config', configFile], env)).toBe(0);
      expect(io.outText.pop()).toMatch(/^\S+ \S+\tMIGRASI \(server2 KE kvmnode2\)\t\tkvmnode1 CPU = 90%/);
      expect(cluster.runningOn('server2')).toEqual(['kvmnode2']);
      expect(await agentMain(['status', '--config', configFile], env)).toBe(0);
      const status = io.outText.pop()!;
      expect(status).toMatch(/kvmnode3\s+drained/);
      expect(status).toMatch(/server2\s+kvmnode2\s+kvmnode1 \(away\)/);
      expect(await agentMain(['log', '-n', '1', '--json', '--config', configFile], env)).toBe(0);
      // one JSON document: the runs as an array
      const logged = JSON.parse(io.outText.pop()!) as unknown[];
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ action: 'MIGRASI (server2 KE kvmnode2)' });
      expect(await agentMain(['drain', 'kvmstorage', '--config', configFile], env)).toBe(64);
      expect(io.errText.pop()).toMatch(/not a hypervisor/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('explains a bad config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvmctl-agent-'));
    try {
      const file = join(dir, 'b.json');
      writeFileSync(file, JSON.stringify({ strategy: 'home', home: { hosts: ['kvmnode9'] }, hosts: [{ name: 'kvmnode1', address: 'a', fqdn: 'f', role: 'hypervisor' }] }));
      const io = captureIo();
      expect(await agentMain(['once', '--config', file], { ...({} as AgentEnv), io, loadConfig: (p) => readAgentConfig(p) })).toBe(1);
      expect(io.errText.join('\n')).toMatch(/b\.json: balancer\.home\.hosts names "kvmnode9", which is not a hypervisor in "hosts"\nhint: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hvmctl balance', () => {
  const inventory = {
    ssh: { user: 'root', identity: '/id', knownHosts: '/kh' },
    balancer: { strategy: 'home', home: { hosts: ['kvmnode1'] } },
    hosts: [{ name: 'kvmnode1', role: 'hypervisor' }],
  } as unknown as Inventory;

  it('runs the agent on the home host over SSH, every argument quoted', async () => {
    const commands: string[] = [];
    const connector: Connector = {
      host: 'kvmnode1',
      run: async (command) => {
        commands.push(command);
        return { code: 0, stdout: 'status output', stderr: '' };
      },
      close: async () => {},
    };
    const io = captureIo();
    const code = await run(['-i', 'inv.yaml', 'drain', "kvm'node3"], io, {
      loadInventory: async () => inventory,
      connect: async () => connector,
      localConfigExists: () => true,
    });
    expect(code).toBe(0);
    expect(commands).toEqual([`node /opt/hvmctl/balancer.mjs drain 'kvm'\\''node3' --config /etc/hvmctl/balancer.json`]);
    expect(io.outText).toEqual(['status output']);
  });

  it('says how to install the balancer when the host has none', async () => {
    const io = captureIo();
    const connector: Connector = {
      host: 'kvmnode1',
      run: async () => ({ code: 1, stdout: '', stderr: "Error: Cannot find module '/opt/hvmctl/balancer.mjs'" }),
      close: async () => {},
    };
    expect(await run(['status'], io, { loadInventory: async () => inventory, connect: async () => connector, localConfigExists: () => false })).toBe(1);
    expect(io.errText.join('\n')).toMatch(/hint: the balancer is not installed on kvmnode1: run `hvmctl apply`/);
  });

  it('runs locally with --local, --config, or when this machine has the balancer config', async () => {
    const calls: string[][] = [];
    const local = async (argv: string[]): Promise<number> => {
      calls.push(argv);
      return 0;
    };
    await run(['status', '--local', '--json'], captureIo(), { local, localConfigExists: () => false });
    await run(['once', '--dry-run', '--config', '/c.json'], captureIo(), { local, localConfigExists: () => false });
    await run(['log', '-n', '3'], captureIo(), { local, localConfigExists: () => true });
    expect(calls).toEqual([['status', '--json'], ['once', '--dry-run', '--config', '/c.json'], ['log', '-n', '3']]);
  });

  it('delegates simulate to the simulator, options included', async () => {
    const io = captureIo();
    expect(await run(['simulate', '--help'], io, { localConfigExists: () => false })).toBe(0);
    expect(io.outText.join('\n')).toMatch(/^usage: hvmctl balance simulate --trace DIR/);
  });

  it('prints its help for --help after a command, reading no inventory and reaching no host', async () => {
    const io = captureIo();
    const never = async (): Promise<never> => {
      throw new Error('must not be called');
    };
    for (const argv of [['status', '--help'], ['log', '-n', '3', '-h'], ['move', 'server1', 'kvmnode2', '--help'], ['--help']]) {
      expect(await run(argv, io, { loadInventory: never, connect: never, local: never, localConfigExists: () => false })).toBe(0);
      expect(io.outText.pop()).toMatch(/^usage: hvmctl balance <command>/);
    }
  });

  it('refuses a bad flag before the inventory is read or a host reached', async () => {
    const never = async (): Promise<never> => {
      throw new Error('must not be called');
    };
    const deps = { loadInventory: never, connect: never, local: never, localConfigExists: () => false };
    await expect(run(['log', '-n', '-3'], captureIo(), deps)).rejects.toThrow(/unknown option -3|-n/);
    await expect(run(['move', 'server1', 'kvmnode2', '--dry-run'], captureIo(), deps)).rejects.toThrow(/move takes no --dry-run/);
    await expect(run(['status', '--interval', '5'], captureIo(), deps)).rejects.toThrow(/status takes no --interval/);
  });

  it('takes --config=PATH as --config PATH: here, with that configuration', async () => {
    const calls: string[][] = [];
    const local = async (argv: string[]): Promise<number> => {
      calls.push(argv);
      return 0;
    };
    await run(['log', '--config=/c.json'], captureIo(), { local, localConfigExists: () => false });
    expect(calls).toEqual([['log', '--config', '/c.json']]);
  });

  it('refuses an unknown command and a remote loop', async () => {
    await expect(run(['bogus'], captureIo())).rejects.toThrow(/unknown balance command/);
    await expect(run(['run', '-i', 'x.yaml'], captureIo(), { localConfigExists: () => false })).rejects.toThrow(/loop for a service/);
  });
});

describe('agent bundle', () => {
  it('is one ES module, the same bytes every build, without absolute paths of this checkout', async () => {
    const a = await buildAgentBundle();
    expect(a.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(a).toContain('function agentMain(');
    expect(a).not.toContain(process.cwd());
    expect(a).not.toMatch(/sourceMappingURL/);
    expect(a).not.toMatch(/\brequire\(/);
    expect(await bundleAgent()).toBe(a); // a second, uncached build: same bytes
    expect(await buildAgentBundle()).toBe(a);
  }, 30_000);
});
