// The bridge guard's rules (templates/bridge-guard.nft.hbs) through the real
// nft, in a network namespace of this test alone (`unshare --net`: nothing on
// this machine changes): they load, a second load replaces the table instead
// of adding to it, and nft reads back the hosts and the rules as written.
// What the rules do to a guest's frames is proved on the lab
// (test/lab/neighbour.test.ts). Plus the task that reloads a missing table.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors.ts';
import { loadInventory } from '../../src/inventory/load.ts';
import { hostByName } from '../../src/inventory/types.ts';
import { BRIDGE_GUARD, managedFiles } from '../../src/render/managed-files.ts';
import { bridgeGuardLiveTask, guardTable } from '../../tasks/ops/bridge-guard.ts';
import { ctxFor } from '../ops/ops-support.ts';

const inv = await loadInventory('inventory.yaml', { home: '/root' });
const guardOf = (name: string) => {
  const host = hostByName(inv, name);
  if (!host) throw new Error(`no host ${name}`);
  return managedFiles(inv, host).filter((f) => f.tags.includes('guard'));
};

const unavailable =
  process.getuid?.() !== 0 ? 'not root' : spawnSync('sh', ['-c', 'command -v unshare && command -v nft'], { stdio: 'ignore' }).status !== 0 ? 'no unshare or nft (bash lab/install-packages.sh)' : undefined;

describe('bridge guard files', () => {
  it('only the hypervisors get them: the rules (checked by nft before they replace the file) and the unit that loads them at boot', () => {
    expect(guardOf('kvmstorage')).toEqual([]);
    const [rules, unit] = guardOf('kvmnode2');
    expect(rules).toMatchObject({ path: BRIDGE_GUARD.file, mode: 0o644, notify: ['bridge-guard-load'], validate: 'nft -c -f {}' });
    expect(rules?.content).toContain('elements = { 172.21.3.13, 172.21.3.10, 172.21.3.11, 172.21.3.12 }');
    expect(rules?.content).toContain('iifname "eth0" accept');
    expect(unit).toMatchObject({ path: BRIDGE_GUARD.unitPath, notify: ['bridge-guard-load'] });
    expect(unit?.content).toContain(`ExecStart=/usr/sbin/nft -f ${BRIDGE_GUARD.file}`);
    expect(unit?.content).toMatch(/^Before=network-pre\.target libvirtd\.service$/m);
  });

  it.skipIf(unavailable !== undefined)(`loads with the real nft, twice, and reads back as written${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
    const content = guardOf('kvmnode1')[0]?.content ?? '';
    const script = 'nft -c -f /dev/stdin <<<"$1" && nft -f /dev/stdin <<<"$1" && nft -f /dev/stdin <<<"$1" && nft list ruleset';
    const r = spawnSync('unshare', ['--net', 'bash', '-c', script, 'bash', content], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    // one table, one chain: the second load replaced the first
    expect(r.stdout.match(/^table /gm)).toEqual(['table ']);
    expect(r.stdout.match(/chain prerouting/g)).toHaveLength(1);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('elements = { 172.21.3.10, 172.21.3.11, 172.21.3.12, 172.21.3.13 }');
    // -200 is what nft calls the bridge family's "filter" priority
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('elements = { 52:54:00:15:03:0a, 52:54:00:15:03:0b, 52:54:00:15:03:0c, 52:54:00:15:03:0d }');
    expect(r.stdout).toMatch(/type filter hook prerouting priority filter; policy accept;\n\s+iifname "eth0" accept\n\s+ether type \{ 8021q, 8021ad \} counter packets 0 bytes 0 drop\n\s+ether saddr @macs counter packets 0 bytes 0 drop\n\s+arp saddr ip @hosts counter packets 0 bytes 0 drop\n\s+ip saddr @hosts counter packets 0 bytes 0 drop\n/);
  });
});

describe('bridge guard as it runs', () => {
  it.each([
    ['loaded', { code: 0, stdout: 'loaded\n', stderr: '' }, true],
    ['missing', { code: 0, stdout: 'missing\n', stderr: '' }, false],
  ])('the fact reads %s', (_what, result, want) => {
    expect(guardTable.parse(result)).toBe(want);
  });

  it('no nft is an error that says to install it', () => {
    let error: unknown;
    try {
      guardTable.parse({ code: 3, stdout: '', stderr: '' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).hint).toMatch(/install nftables/);
  });

  it('a missing table is loaded again (the handler also enables the unit); a loaded one is left alone', () => {
    const ctx = ctxFor('kvmnode1');
    expect(bridgeGuardLiveTask.plan(ctx, { loaded: true })).toEqual({ changes: [], reason: 'table bridge hvmctl_guard loaded' });
    expect(bridgeGuardLiveTask.plan(ctx, { loaded: false }).changes).toEqual([
      { summary: `load ${BRIDGE_GUARD.file} (table bridge hvmctl_guard is missing)`, commands: [], notify: ['bridge-guard-load'] },
    ]);
    expect(bridgeGuardLiveTask.applies(ctx.host, ctx.inventory)).toBe(true);
    expect(bridgeGuardLiveTask.applies(ctxFor('kvmstorage').host, ctx.inventory)).toBe(false);
  });
});
