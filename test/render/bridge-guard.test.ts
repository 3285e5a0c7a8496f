// The bridge guard's rules (templates/bridge-guard.nft.hbs) through the real
// nft, in a network namespace of this test alone (`unshare --net`: nothing on
// this machine changes): they load, a second load replaces the table instead
// of adding to it, and nft reads back the hosts and the rules as written.
// What the rules do to a guest's frames is proved on the lab
// (test/lab/neighbour.test.ts). Plus the task that reloads a missing table.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors.ts';
import { loadInventory } from '../../src/inventory/load.ts';
import { hostByName } from '../../src/inventory/types.ts';
import { BRIDGE_GUARD, managedFiles } from '../../src/render/managed-files.ts';
import { sh } from '../../src/shell.ts';
import type { UnitState } from '../../tasks/facts/systemd-unit.ts';
import { bridgeGuardLiveTask, type GuardState, guardStateCommand, parseGuardState } from '../../tasks/ops/bridge-guard.ts';
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
    const [rules, unit, dropIn] = guardOf('kvmnode2');
    expect(rules).toMatchObject({ path: BRIDGE_GUARD.file, mode: 0o644, notify: ['bridge-guard-load'], validate: 'nft -c -f {}' });
    // the hosts' addresses and the gateway's
    expect(rules?.content).toContain('elements = { 172.21.3.13, 172.21.3.10, 172.21.3.11, 172.21.3.12, 172.21.3.1 }');
    expect(rules?.content).toContain('iifname "eth0" accept');
    expect(unit).toMatchObject({ path: BRIDGE_GUARD.unitPath, notify: ['bridge-guard-load'] });
    expect(unit?.content).toContain(`ExecStart=/usr/sbin/nft -f ${BRIDGE_GUARD.file}`);
    expect(unit?.content).toMatch(/^Before=network-pre\.target libvirtd\.service$/m);
    // nftables.service's start, restart and reload flush the whole ruleset: its drop-in loads the
    // guard after each, and a guard that fails to load does not fail the service ('-')
    expect(dropIn).toMatchObject({ path: BRIDGE_GUARD.nftablesDropIn, notify: ['bridge-guard-load'] });
    expect(dropIn?.content).toMatch(/^\[Service\]\nExecStartPost=-\/usr\/sbin\/nft -f \/etc\/hvmctl\/bridge-guard\.nft\nExecReload=-\/usr\/sbin\/nft -f \/etc\/hvmctl\/bridge-guard\.nft\n$/m);
  });

  it.skipIf(unavailable !== undefined)(`loads with the real nft, twice, and reads back as written${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
    const content = guardOf('kvmnode1')[0]?.content ?? '';
    const script = 'nft -c -f /dev/stdin <<<"$1" && nft -f /dev/stdin <<<"$1" && nft -f /dev/stdin <<<"$1" && nft list ruleset';
    const r = spawnSync('unshare', ['--net', 'bash', '-c', script, 'bash', content], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    // one table, one chain: the second load replaced the first
    expect(r.stdout.match(/^table /gm)).toEqual(['table ']);
    expect(r.stdout.match(/chain prerouting/g)).toHaveLength(1);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('elements = { 172.21.3.1, 172.21.3.10, 172.21.3.11, 172.21.3.12, 172.21.3.13 }');
    // -200 is what nft calls the bridge family's "filter" priority
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('elements = { 52:54:00:15:03:0a, 52:54:00:15:03:0b, 52:54:00:15:03:0c, 52:54:00:15:03:0d }');
    expect(r.stdout).toMatch(/type filter hook prerouting priority filter; policy accept;\n\s+iifname "eth0" accept\n\s+ether type \{ 8021q, 8021ad \} counter packets 0 bytes 0 drop\n\s+ether saddr @macs counter packets 0 bytes 0 drop\n\s+arp saddr ip @hosts counter packets 0 bytes 0 drop\n\s+ip saddr @hosts counter packets 0 bytes 0 drop\n\s+icmpv6 type \{ nd-router-advert, nd-redirect \} counter packets 0 bytes 0 drop\n/);
  });
});

describe('bridge guard as it runs', () => {
  const run = (stdout: string, code = 0) => ({ code, stdout, stderr: '' });

  it.skipIf(unavailable !== undefined)(`the fact, run for real: missing, then the same as the file, then changed by hand with the diff${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
    // A network namespace of the test's own; the file in a temporary directory.
    const dir = mkdtempSync(join(tmpdir(), 'hvmctl-guard-'));
    try {
      const file = join(dir, 'bridge-guard.nft');
      writeFileSync(file, guardOf('kvmnode1')[0]?.content ?? '');
      const fact = guardStateCommand(file);
      const script = [
        `( ${fact}
); echo ---`,
        sh`nft -f ${file}`,
        `( ${fact}
); echo ---`,
        sh`nft insert rule bridge ${BRIDGE_GUARD.table} prerouting ether saddr 02:00:00:00:00:01 accept`,
        `( ${fact}
)`,
      ].join('\n');
      const r = spawnSync('unshare', ['--net', 'sh', '-c', script], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      const [missing, same, changed] = r.stdout.split('---\n').map((out) => parseGuardState(run(out)));
      expect(missing).toEqual({ table: 'missing', detail: '' });
      expect(same).toEqual({ table: 'same', detail: '' });
      expect(changed?.table).toBe('differs');
      expect(changed?.detail).toContain(`--- ${file} (as nft reads it)`);
      expect(changed?.detail).toMatch(/^\+\s+ether saddr 02:00:00:00:00:01 accept$/m);
      expect(changed?.detail).not.toMatch(/^-\s/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses what it prints; anything else is an error that quotes it', () => {
    expect(parseGuardState(run('table same\n'))).toEqual({ table: 'same', detail: '' });
    expect(parseGuardState(run('table unchecked\nunshare: unshare failed: Operation not permitted\n'))).toEqual({
      table: 'unchecked',
      detail: 'unshare: unshare failed: Operation not permitted',
    });
    expect(() => parseGuardState(run('loaded\n'))).toThrow(ParseError);
    expect(() => parseGuardState(run('table gone\n'))).toThrow(/unexpected output/);
  });

  it('no nft is an error that says to install it', () => {
    let error: unknown;
    try {
      parseGuardState(run('', 3));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).hint).toMatch(/install nftables/);
  });

  it('a missing or changed table, or a unit not enabled and active, is loaded again through the unit (one handler); the diff is shown', () => {
    const ctx = ctxFor('kvmnode1');
    const on = { enabled: true, active: true };
    const facts = (table: GuardState['table'], unit: UnitState | undefined = on, detail = '') => ({ guard: { table, detail }, unit });
    const load = (why: string) => `load ${BRIDGE_GUARD.file} through its unit, enabled (${why})`;
    // the unit through the one shared fact
    expect(Object.keys(bridgeGuardLiveTask.facts(ctx))).toEqual(['guard', 'unit']);
    expect(bridgeGuardLiveTask.facts(ctx).unit.key).toBe(`unit:${BRIDGE_GUARD.unit}`);
    expect(bridgeGuardLiveTask.plan(ctx, facts('same'))).toEqual({
      changes: [],
      reason: `table bridge hvmctl_guard loaded as ${BRIDGE_GUARD.file} says, ${BRIDGE_GUARD.unit} enabled and active`,
    });
    // no systemd: the table alone
    expect(bridgeGuardLiveTask.plan(ctx, { guard: { table: 'same', detail: '' }, unit: undefined }).reason).toBe(`table bridge hvmctl_guard loaded as ${BRIDGE_GUARD.file} says`);
    expect(bridgeGuardLiveTask.plan(ctx, facts('unchecked', on, 'unshare: Operation not permitted\nmore')).reason).toBe(
      `table bridge hvmctl_guard loaded (not compared with ${BRIDGE_GUARD.file}: unshare: Operation not permitted), ${BRIDGE_GUARD.unit} enabled and active`,
    );
    expect(bridgeGuardLiveTask.plan(ctx, facts('missing')).changes).toEqual([{ summary: load('table bridge hvmctl_guard is missing'), commands: [], notify: ['bridge-guard-load'] }]);
    expect(bridgeGuardLiveTask.plan(ctx, facts('differs', { enabled: false, active: true }, '--- a\n+++ b\n+ accept')).changes).toEqual([
      {
        summary: load(`table bridge hvmctl_guard was changed since it was loaded; ${BRIDGE_GUARD.unit} is not enabled`),
        commands: [],
        notify: ['bridge-guard-load'],
        diff: '--- a\n+++ b\n+ accept\n',
      },
    ]);
    // loaded by hand, the unit never started
    expect(bridgeGuardLiveTask.plan(ctx, facts('same', { enabled: true, active: false })).changes[0]?.summary).toBe(load(`${BRIDGE_GUARD.unit} is not active`));
    expect(bridgeGuardLiveTask.plan(ctx, facts('missing', { enabled: false, active: false })).changes[0]?.summary).toBe(
      load(`table bridge hvmctl_guard is missing; ${BRIDGE_GUARD.unit} is not enabled and not active`),
    );
    expect(bridgeGuardLiveTask.applies(ctx.host, ctx.inventory)).toBe(true);
    expect(bridgeGuardLiveTask.applies(ctxFor('kvmstorage').host, ctx.inventory)).toBe(false);
  });
});
