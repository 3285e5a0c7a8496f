import { describe, expect, it } from 'vitest';
import { managedFiles } from '../../src/render/managed-files.ts';
import { sha256 } from '../../tasks/ops/file.ts';
import { hostsTask } from '../../tasks/ops/hosts.ts';
import { testInventory } from '../engine/inventory.ts';

const host = testInventory.hosts[1]!;
const ctx = { inventory: testInventory, host, cluster: { get: () => undefined }, check: false };
const wanted = managedFiles(testInventory, host).find((f) => f.path === '/etc/hosts')!;

describe('hosts file task', () => {
  it('asks for the state of /etc/hosts only', () => {
    expect(Object.values(hostsTask.facts(ctx)).map((f) => f.key)).toEqual(['file:/etc/hosts']);
  });

  it('is a no-op when the host already has the rendered file', () => {
    const r = hostsTask.plan(ctx, { '/etc/hosts': { exists: true, kind: 'file', mode: 0o644, owner: 'root', group: 'root', sha256: sha256(wanted.content), content: wanted.content } });
    expect(r).toEqual({ changes: [], reason: '/etc/hosts already up to date' });
  });

  it('rewrites a drifted file atomically, with a diff naming every host', () => {
    const r = hostsTask.plan(ctx, { '/etc/hosts': { exists: true, kind: 'file', mode: 0o644, owner: 'root', group: 'root', sha256: sha256('127.0.0.1 localhost\n'), content: '127.0.0.1 localhost\n' } });
    expect(r.changes).toHaveLength(1);
    const change = r.changes[0]!;
    expect(change.summary).toBe('update /etc/hosts');
    for (const h of testInventory.hosts) expect(change.diff).toContain(`+${h.address}`);
    expect(change.commands[0]?.input).toBe(wanted.content);
    expect(change.commands[0]?.script).toContain('mv -f -- "$t" /etc/hosts');
  });
});
