// --limit and --tags mean the same in apply, plan and render (one parser,
// tasks/engine/select.ts), and a flag that names nothing (`--limit ""`,
// `--limit ,`) is a usage error (exit 64) everywhere: it selected every host
// in apply and plan until issue 10. Apply and plan run on a fake fleet here:
// nothing connects anywhere.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ApplyDeps, runApply } from '../../cli/apply.ts';
import type { CliIo } from '../../cli/io.ts';
import { dispatch } from '../../cli/main.ts';
import { HvmError } from '../../src/errors.ts';
import { listOption } from '../../tasks/engine/select.ts';
import type { Task } from '../../tasks/engine/types.ts';
import { FakeFleet } from '../support/fake-connector.ts';
import { testInventory } from './inventory.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function io(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), tty: false, env: { HOME: '/root' }, cwd: root };
}

const noop: Task<Record<string, never>> = {
  name: 'noop',
  tags: ['hosts'],
  stage: 'base',
  applies: () => true,
  facts: () => ({}),
  plan: () => ({ changes: [], reason: 'nothing to do' }),
};

function fakeDeps(connected: string[]): ApplyDeps {
  const fleet = new FakeFleet(Object.fromEntries(testInventory.hosts.map((h) => [h.name, { facts: {} }])));
  return {
    connect: (_inv, h) => {
      connected.push(h.name);
      return fleet.connect(h.name);
    },
    playbook: { tasks: [noop as Task], handlers: [] },
    loadInventory: async () => testInventory,
    signal: new AbortController().signal,
    progress: () => undefined,
  };
}

const empty: string[][] = [
  ['--limit', ''],
  ['--limit', ','],
  ['--limit', ' , ,'],
  ['--tags', ''],
  ['--tags', ','],
];

describe('an empty --limit or --tags', () => {
  it.each(empty)('apply and plan %s %j: exit 64, no host contacted', async (flag, value) => {
    for (const mode of ['apply', 'plan'] as const) {
      const connected: string[] = [];
      const error = await runApply([flag!, value!], io(), mode, fakeDeps(connected)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HvmError);
      expect((error as HvmError).exitCode).toBe(64);
      expect((error as HvmError).message).toBe(`${flag} ${JSON.stringify(value)} names nothing`);
      expect(connected).toEqual([]);
    }
  });

  it.each(empty.filter(([flag]) => flag === '--limit'))('render %s %j: exit 64, nothing written', async (flag, value) => {
    const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'hvmctl-limit-')), 'tree');
    const cli = io();
    expect(await dispatch(['render', '-o', out, flag!, value!], cli)).toBe(64);
    expect(cli.stderr.join('\n')).toContain(`error: ${flag} ${JSON.stringify(value)} names nothing`);
  });

  it('an unknown --tags is refused before the inventory is read', async () => {
    const deps = { ...fakeDeps([]), loadInventory: async (): Promise<never> => Promise.reject(new Error('the inventory must not be read')) };
    const error = await runApply(['--tags', 'bogus'], io(), 'apply', deps).catch((e: unknown) => e);
    expect(error).toMatchObject({ exitCode: 64, message: expect.stringMatching(/--tags: unknown tag bogus/) });
  });

  it('listOption: not given is "no selection", given is the trimmed items', () => {
    expect(listOption('--limit', undefined)).toBeUndefined();
    expect(listOption('--limit', ' kvmnode1, storage ,')).toEqual(['kvmnode1', 'storage']);
  });
});

describe('--limit means the same in render and apply', () => {
  it.each([
    ['kvmnode3.localdomain', ['kvmnode3']],
    ['hypervisor', ['kvmnode1', 'kvmnode2', 'kvmnode3']],
    ['storage,kvmnode2', ['kvmstorage', 'kvmnode2']],
  ])('%s selects %j in both', async (limit, hosts) => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'hvmctl-limit-'));
    const cli = io();
    expect(await dispatch(['render', '-o', out, '--limit', limit, '--json'], cli)).toBe(0);
    const rendered = [...new Set((JSON.parse(cli.stdout.join('\n')) as { files: { host: string }[] }).files.map((f) => f.host))];
    expect(rendered).toEqual(hosts);
    const connected: string[] = [];
    expect(await runApply(['--limit', limit], io(), 'plan', fakeDeps(connected))).toBe(0);
    expect(connected).toEqual(hosts);
  });
});
