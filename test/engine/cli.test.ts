import { describe, expect, it } from 'vitest';
import { run as apply, type ApplyDeps } from '../../cli/apply.ts';
import type { CliIo } from '../../cli/io.ts';
import { dispatch } from '../../cli/main.ts';
import { run as plan } from '../../cli/plan.ts';
import { UsageError } from '../../src/errors.ts';
import { sh } from '../../src/shell.ts';
import type { Handler, Task } from '../../tasks/engine/types.ts';
import { FakeFleet, fail, ok, type FakeScript } from '../support/fake-connector.ts';
import { testInventory } from './inventory.ts';

function captureIo(tty = false, env: NodeJS.ProcessEnv = {}): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), tty, env, cwd: '/test' };
}

const hostsLike: Task<{ content: string }> = {
  name: 'hosts file',
  tags: ['hosts'],
  stage: 'base',
  applies: () => true,
  facts: () => ({ content: { key: 'file:/etc/hosts', command: 'cat /etc/hosts', parse: (r) => r.stdout } }),
  plan: (_ctx, f) =>
    f.content === 'good\n'
      ? { changes: [], reason: '/etc/hosts already up to date' }
      : { changes: [{ summary: 'update /etc/hosts', commands: [{ script: 'write hosts', input: 'good\n' }], diff: '--- a\n+++ b\n-bad\n+good\n', notify: ['cron-reload'] }], reason: '' },
};
const secretLike: Task<Record<string, never>> = {
  name: 'secret',
  tags: ['ssh'],
  stage: 'trust',
  applies: (h) => h.role === 'hypervisor',
  facts: () => ({}),
  plan: () => ({ changes: [{ summary: 'write key (content hidden)', commands: [{ script: 'write key', input: 'PRIVATE KEY', sensitive: true }], diff: '+PRIVATE KEY' }], reason: '' }),
};
const handlers: Handler[] = [{ name: 'cron-reload', commands: () => [{ script: sh`touch /etc/cron.d` }] }];

function deps(fleet: FakeFleet, tasks: Task[] = [hostsLike as Task]): ApplyDeps {
  return {
    connect: (_inv, h) => fleet.connect(h.name),
    playbook: { tasks, handlers },
    loadInventory: async () => testInventory,
    signal: new AbortController().signal,
    progress: () => undefined,
  };
}

const allGood = (): Record<string, FakeScript> => Object.fromEntries(testInventory.hosts.map((h) => [h.name, { facts: { 'file:/etc/hosts': ok('good\n') } }]));

describe('hvmctl apply / plan', () => {
  it('apply with nothing to do: exit 0, one ok line per host, Ansible-like recap', async () => {
    const io = captureIo();
    const code = await apply([], io, deps(new FakeFleet(allGood())));
    expect(code).toBe(0);
    const text = io.stdout.join('\n');
    expect(text).toMatch(/STAGE \[base\] \(4 hosts\)/);
    expect(text).toMatch(/^ok {7}kvmnode1 {4}hosts file {2}\(\/etc\/hosts already up to date\)$/m);
    expect(text).toMatch(/^kvmnode1 {3}: ok=1 changed=0 failed=0 skipped=0 unreachable=0$/m);
    expect(text).not.toContain('\x1b['); // no colour off a terminal
  });

  it('plan: exit 2 on drift, shows the diff, executes nothing; exit 0 when nothing would change', async () => {
    const scripts = allGood();
    scripts.kvmnode2 = { facts: { 'file:/etc/hosts': ok('bad\n') } };
    const fleet = new FakeFleet(scripts);
    const io = captureIo();
    expect(await plan([], io, deps(fleet))).toBe(2);
    const text = io.stdout.join('\n');
    expect(text).toMatch(/^changed {2}kvmnode2 {4}hosts file {2}\(would update \/etc\/hosts\)$/m);
    expect(text).toContain('    +good');
    expect(text).toMatch(/changed  kvmnode2 +handler cron-reload +\(would run\)/);
    for (const h of testInventory.hosts) expect(fleet.commands(h.name)).toEqual([]);
    expect(await plan([], captureIo(), deps(new FakeFleet(allGood())))).toBe(0);
  });

  it('apply: exit 2 when a host fails, 3 when one is unreachable; the others are done', async () => {
    const scripts = Object.fromEntries(testInventory.hosts.map((h) => [h.name, { facts: { 'file:/etc/hosts': ok('bad\n') } } as FakeScript]));
    scripts.kvmnode1 = { ...scripts.kvmnode1, answers: [['write hosts', fail(1, 'No space left on device')]] };
    const fleet = new FakeFleet(scripts);
    const io = captureIo();
    expect(await apply([], io, deps(fleet))).toBe(2);
    expect(io.stdout.join('\n')).toMatch(/^failed {3}kvmnode1 .*No space left on device/m);
    expect(fleet.commands('kvmnode2')).toEqual(['write hosts', 'touch /etc/cron.d']);

    scripts.kvmnode3 = { unreachable: true };
    const io2 = captureIo();
    expect(await apply([], io2, deps(new FakeFleet(scripts)))).toBe(3);
    expect(io2.stdout.join('\n')).toMatch(/^kvmnode3 +: ok=0 changed=0 failed=0 skipped=0 unreachable=1 +\(kvmnode3: unreachable \(fake\)\)$/m);
    expect(await plan([], captureIo(), deps(new FakeFleet(scripts)))).toBe(3);
  });

  it('--json prints one JSON document and nothing else; sensitive diffs are redacted', async () => {
    const io = captureIo();
    const code = await apply(['--json', '--diff', '--limit', 'kvmnode1'], io, deps(new FakeFleet(allGood()), [hostsLike as Task, secretLike as Task]));
    expect(io.stdout).toHaveLength(1);
    const doc = JSON.parse(io.stdout[0] ?? '');
    expect(doc.exitCode).toBe(code);
    expect(code).toBe(0);
    expect(doc.hosts).toEqual(['kvmnode1']);
    expect(doc.check).toBe(false);
    expect(doc.recap).toEqual([{ host: 'kvmnode1', ok: 1, changed: 1, failed: 0, skipped: 0, unreachable: 0 }]);
    expect(doc.results.map((r: { task: string; status: string }) => `${r.status} ${r.task}`)).toEqual(['ok hosts file', 'changed secret']);
    expect(io.stdout[0]).not.toContain('PRIVATE KEY');
    expect(doc.results[1].changes[0].diff).toContain('diff hidden');
  });

  it('--limit takes hosts and groups; --tags selects tasks', async () => {
    const fleet = new FakeFleet(allGood());
    await apply(['--limit', 'storage,kvmnode3', '--tags', 'ssh'], captureIo(), deps(fleet, [hostsLike as Task, secretLike as Task]));
    expect(fleet.connects).toEqual(['kvmstorage', 'kvmnode3']);
    expect(fleet.commands('kvmnode3')).toEqual(['write key']);
    expect(fleet.log.find((r) => r.command === 'write key')?.input).toBe('PRIVATE KEY');
    expect(fleet.batches('kvmnode3')[0]?.factKeys).not.toContain('file:/etc/hosts');
  });

  it("--timeout bounds every step; a host's own timeout: in the inventory overrides it (a silent host fails, named, the others finish)", async () => {
    const fleet = new FakeFleet(allGood());
    const silent = { host: 'kvmnode2', run: () => new Promise<never>(() => undefined), close: async () => undefined };
    const inventory = { ...testInventory, hosts: testInventory.hosts.map((h) => (h.name === 'kvmnode2' ? { ...h, timeout: 1 } : h)) };
    const io = captureIo();
    const code = await apply(['--timeout', '600', '--json'], io, {
      ...deps(fleet),
      loadInventory: async () => inventory,
      connect: async (_inv, h) => (h.name === 'kvmnode2' ? silent : fleet.connect(h.name)),
    });
    expect(code).toBe(2);
    const doc = JSON.parse(io.stdout.join('\n'));
    const failed = doc.results.filter((r: { status: string }) => r.status === 'failed');
    expect(failed.map((r: { host: string; task: string; reason: string }) => [r.host, r.task, r.reason])).toEqual([
      ['kvmnode2', 'gather facts', 'kvmnode2: no answer within 1 s: reading 2 fact(s) in one batch'],
    ]);
    expect(doc.results.filter((r: { host: string; status: string }) => r.host !== 'kvmnode2' && r.status === 'ok')).toHaveLength(3);
    for (const bad of ['0', 'ten', '1.5', '86401', ' 60', '0x10', '1e3', '']) {
      await expect(apply(['--timeout', bad], captureIo(), deps(new FakeFleet({})))).rejects.toThrow(/--timeout must be a whole number of seconds from 1 to 86400/);
    }
  }, 30_000);

  it('bad flags are usage errors (exit 64 through main), --help documents exit codes and env overrides', async () => {
    for (const bad of ['0', ' 3', '0x10', '1e1', '2.0', '', '1001']) {
      await expect(apply(['--forks', bad], captureIo(), deps(new FakeFleet({}))), `--forks '${bad}'`).rejects.toThrow(/--forks must be a whole number from 1 to 1000/);
    }
    await expect(apply(['--limit', 'nope'], captureIo(), deps(new FakeFleet({})))).rejects.toThrow(/no host or group named 'nope'/);
    await expect(apply(['--tags', 'nope'], captureIo(), deps(new FakeFleet({})))).rejects.toThrow(/unknown tag nope/);
    await expect(plan(['--check'], captureIo(), deps(new FakeFleet({})))).rejects.toBeInstanceOf(UsageError);
    const io = captureIo();
    expect(await dispatch(['apply', '--bogus'], io)).toBe(64);
    expect(io.stderr.join('\n')).toContain("Unknown option '--bogus'");
    const help = captureIo();
    expect(await apply(['--help'], help)).toBe(0);
    expect(help.stdout.join('')).toMatch(/3 +some host could not be reached/);
    expect(help.stdout.join('')).toContain('HVMCTL_KNOWN_HOSTS');
    const planHelp = captureIo();
    expect(await plan(['-h'], planHelp)).toBe(0);
    expect(planHelp.stdout.join('')).toMatch(/2 +something would change \(drift\)/);
  });

  it('colour and a live progress line only on a terminal', async () => {
    const progress: string[] = [];
    const io = captureIo(true);
    await apply([], io, { ...deps(new FakeFleet(allGood())), progress: (t) => progress.push(t) });
    expect(io.stdout.join('\n')).toContain('\x1b[32m');
    expect(progress.join('')).toContain('[base] 4/4 hosts done');
  });
});

describe('hvmctl --help', () => {
  it('documents every HVMCTL_ environment variable the code reads', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const path = await import('node:path');
    const root = path.resolve(import.meta.dirname, '../..');
    const sources = ['bin', 'cli', 'src', 'tasks', 'balancer', 'lab'].flatMap((dir) =>
      readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => /\.(ts|js)$/.test(f))
        .map((f) => readFileSync(path.join(root, dir, f), 'utf8')),
    );
    // Read from the environment: process.env.X, env.X or env['X'] (not the HVMCTL_ZONE-style names of firewall objects).
    const read = new Set(sources.flatMap((text) => [...text.matchAll(/\benv(?:\.|\[')(HVMCTL_[A-Z_]+)/g)].map((m) => m[1]!)));
    expect([...read].sort()).toEqual(['HVMCTL_DEBUG', 'HVMCTL_IDENTITY', 'HVMCTL_KNOWN_HOSTS', 'HVMCTL_LAB_ONLY', 'HVMCTL_NO_DIST']);
    const io = captureIo();
    expect(await dispatch(['--help'], io)).toBe(0);
    for (const name of read) expect(io.stdout.join('\n')).toContain(name);
  });
});

describe('hvmctl with no command', () => {
  it('is a usage error: exit 64, the usage on stderr, nothing on stdout', async () => {
    const io = captureIo();
    expect(await dispatch([], io)).toBe(64);
    expect(io.stdout).toEqual([]);
    expect(io.stderr.join('\n')).toMatch(/^usage: hvmctl <command>/);
  });
  it('--help is not: exit 0, the usage on stdout', async () => {
    const io = captureIo();
    expect(await dispatch(['--help'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/^usage: hvmctl <command>/);
  });
});
