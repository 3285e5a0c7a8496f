import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ganeshaReadyScript, handlers } from '../../tasks/handlers.ts';
import {
  exportDirTask,
  ganeshaServiceTask,
  kernelNfsServiceTask,
  kernelNfsUnit,
  nfsConfigTask,
  planExportDir,
  planGanesha,
  planKernelNfs,
} from '../../tasks/ops/nfs.ts';
import { ctxFor, inventory, scripts, withNfs } from './ops-support.ts';

const dir = { type: 'directory' as const, mode: 0o755, owner: 'root', group: 'root' };
const noSystemd = { init: 'process_api', unit: undefined };

describe('nfs export directory', () => {
  it.each([
    { name: 'present: no-op', dir, commands: [] as string[] },
    { name: 'absent: created', dir: undefined, commands: ['mkdir -p -m 0755 -- /srv/kvmshared && chown root:root -- /srv/kvmshared'] },
    { name: 'wrong mode: chmod', dir: { ...dir, mode: 0o700 }, commands: ['chown root:root -- /srv/kvmshared && chmod 0755 -- /srv/kvmshared'] },
  ])('$name', ({ dir: d, commands }) => {
    const r = planExportDir('/srv/kvmshared', 'ganesha-restart', d);
    expect(scripts(r)).toEqual(commands);
    if (commands.length === 0) expect(r.reason).toBe('/srv/kvmshared exists (0755 root:root)');
  });

  it('creation notifies the server that exports it; a file in the way fails', () => {
    expect(planExportDir('/srv/x', 'exportfs', undefined).changes[0]?.notify).toEqual(['exportfs']);
    expect(() => planExportDir('/srv/x', 'exportfs', { ...dir, type: 'file' })).toThrow(/exists but is a file/);
    expect(exportDirTask.plan(ctxFor('kvmstorage'), { dir: undefined }).changes[0]?.notify).toEqual(['ganesha-restart']);
  });
});

describe('nfs-ganesha running', () => {
  it.each([
    { name: 'no systemd, both running: no-op', facts: { ...noSystemd, daemon: [812], rpcbind: [700] }, commands: 0 },
    { name: 'no systemd, nothing running: start both', facts: { ...noSystemd, daemon: [], rpcbind: [] }, commands: 1 },
    { name: 'systemd, enabled and active: no-op', facts: { init: 'systemd', unit: { enabled: true, active: true }, daemon: [5], rpcbind: [4] }, commands: 0 },
  ])('$name', ({ facts, commands }) => {
    expect(planGanesha(facts).changes).toHaveLength(commands);
  });

  it('fallback start: rpcbind -w first, ganesha with its config, log and pid file, detached, then verified', () => {
    const r = planGanesha({ ...noSystemd, daemon: [], rpcbind: [] });
    expect(r.changes[0]?.summary).toBe('start rpcbind and ganesha.nfsd (no systemd)');
    const script = scripts(r)[0] ?? '';
    const lines = script.split('\n');
    expect(lines.findIndex((l) => l.includes('rpcbind -w'))).toBeLessThan(lines.findIndex((l) => l.startsWith('ganesha.nfsd')));
    expect(script).toContain(
      'ganesha.nfsd -f /etc/ganesha/ganesha.conf -L /var/log/ganesha/ganesha.log -p /run/ganesha/ganesha.pid </dev/null >/dev/null 2>&1',
    );
    expect(script).toContain('did not stay up');
  });

  it('rpcbind missing under a running ganesha: start it and restart ganesha', () => {
    const r = planGanesha({ ...noSystemd, daemon: [812], rpcbind: [] });
    expect(scripts(r)).toEqual(['rpcbind -w </dev/null >/dev/null 2>&1']);
    expect(r.changes[0]?.notify).toEqual(['ganesha-restart']);
  });

  it('systemd: enable --now', () => {
    expect(scripts(planGanesha({ init: 'systemd', unit: { enabled: false, active: false }, daemon: [], rpcbind: [] }))).toEqual([
      `systemctl enable --now nfs-ganesha\n${ganeshaReadyScript()}`,
    ]);
  });

  it('the handler restarts via the pid file, then starts with the same script', () => {
    const script = handlers.find((h) => h.name === 'ganesha-restart')?.commands?.(ctxFor('kvmstorage'))[0]?.script ?? '';
    expect(script).toContain('systemctl restart nfs-ganesha');
    expect(script).toContain('kill "$(cat /run/ganesha/ganesha.pid)"');
    expect(script).toContain('ganesha.nfsd -f /etc/ganesha/ganesha.conf');
    expect(script.endsWith(ganeshaReadyScript())).toBe(true);
  });

  // rpcinfo -p as the lab's storage node answered, before ganesha registered and after.
  const beforeGanesha = readFileSync(new URL('../fixtures/captured/rpcinfo-p-rpcbind-only.txt', import.meta.url), 'utf8');
  const afterGanesha = readFileSync(new URL('../fixtures/captured/rpcinfo-p-ganesha.txt', import.meta.url), 'utf8');
  it.each([
    { name: 'returns once nfs and mountd are registered', output: afterGanesha, code: 0, stderr: '' },
    { name: 'gives up after its bound, saying what it waited for', output: beforeGanesha, code: 1, stderr: 'ganesha did not register nfs and mountd with rpcbind within 1 s' },
  ])('ready wait on a real shell with a fake rpcinfo: $name', ({ output, code, stderr }) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hvmctl-rpcinfo-'));
    writeFileSync(path.join(dir, 'out'), output);
    writeFileSync(path.join(dir, 'rpcinfo'), `#!/bin/sh\ncat ${path.join(dir, 'out')}\n`, { mode: 0o755 });
    const r = spawnSync('sh', ['-c', ganeshaReadyScript(1)], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    expect(r.status).toBe(code);
    expect(r.stderr).toContain(stderr);
  });
});

describe('kernel NFS server', () => {
  const kernel = withNfs({ server: 'kernel', client: 'kernel' });
  it('selected by nfs.server, storage only', () => {
    const storage = ctxFor('kvmstorage', { inventory: kernel }).host;
    expect(kernelNfsServiceTask.applies(storage, kernel)).toBe(true);
    expect(ganeshaServiceTask.applies(storage, kernel)).toBe(false);
    expect(ganeshaServiceTask.applies(storage, inventory)).toBe(true);
    expect(kernelNfsServiceTask.applies(ctxFor('kvmnode1').host, kernel)).toBe(false);
  });

  it("/etc/exports limited to the hypervisors' own addresses, exportfs when it changed", () => {
    const ctx = ctxFor('kvmstorage', { inventory: kernel });
    const r = nfsConfigTask.plan(ctx, { '/etc/exports': { exists: false } });
    expect(r.changes.map((c) => [c.summary, c.notify])).toEqual([['create /etc/exports', ['exportfs']]]);
    expect(r.changes[0]?.commands[0]?.input).toMatch(/^\/srv\/kvmshared 172\.21\.3\.10\/32\(rw,sync,no_subtree_check,no_root_squash\) 172\.21\.3\.11\/32\(rw,.*\) 172\.21\.3\.12\/32\(rw,.*\)$/m);
    expect(handlers.find((h) => h.name === 'exportfs')?.commands?.(ctx)).toEqual([{ script: 'exportfs -ra' }]);
  });

  it.each([
    { name: 'systemd active: no-op', facts: { init: 'systemd', unit: { enabled: true, active: true }, mountd: [] }, commands: [] as string[] },
    { name: 'systemd inactive', facts: { init: 'systemd', unit: { enabled: true, active: false }, mountd: [] }, commands: ['systemctl enable --now nfs-server'] },
    { name: 'no systemd, mountd running: no-op', facts: { ...noSystemd, mountd: [42] }, commands: [] },
  ])('$name', ({ facts, commands }) => {
    expect(scripts(planKernelNfs('nfs-server', 20048, facts))).toEqual(commands);
  });

  it('the unit is nfs-server on both families (Debian\'s nfs-kernel-server.service is only an alias of it)', () => {
    expect([kernelNfsUnit('debian'), kernelNfsUnit('redhat')]).toEqual(['nfs-server', 'nfs-server']);
    const storage = ctxFor('kvmstorage', { inventory: kernel });
    expect(Object.values(kernelNfsServiceTask.facts(storage)).map((f) => f.key)).toContain('unit:nfs-server');
  });

  it('no systemd: nfsd and mountd on the fixed port the firewall opens', () => {
    const script = scripts(planKernelNfs('nfs-server', 20048, { ...noSystemd, mountd: [] }))[0] ?? '';
    expect(script).toContain('rpc.mountd --port 20048');
    expect(inventory.firewall.nfsPorts).toContain(20048);
  });
});
