import { describe, expect, it } from 'vitest';
import { createDryRunExecutor, createLiveExecutor } from '../../balancer/migrate.ts';
import type { Migration } from '../../balancer/types.ts';
import { seedCluster } from './fake-cluster.ts';

const move: Migration = { vm: 'server2', from: 'kvmnode1', to: 'kvmnode2', kind: 'migrate', reason: 'kvmnode1 at 90 %', fallbacks: ['kvmnode3'] };

describe('live migration executor', () => {
  it('moves, verifies with libvirt on both ends, and writes home/moved/reason on the destination', async () => {
    const c = seedCluster();
    const r = await createLiveExecutor({ libvirt: c, timeoutMs: 1000, clock: c.clock }).execute(move, { home: 'kvmnode1' });
    expect(r).toMatchObject({ ok: true, host: 'kvmnode2', attempts: [{ to: 'kvmnode2', ok: true }], movedAt: Math.round(c.now / 1000) });
    expect(c.calls.filter((x) => !x.startsWith('read'))).toEqual(['migrate server2 kvmnode1 kvmnode2', 'domstats kvmnode1', 'domstats kvmnode2', 'setMetadata kvmnode2 server2 home=kvmnode1']);
  });

  it('stops a stale paused copy on the destination when the source still runs, then tries the next', async () => {
    const c = seedCluster();
    c.script = (vm, from, to) => {
      if (to !== 'kvmnode2') return 'ok';
      // libvirt left an incoming copy behind on kvmnode2
      c.host(to).domains.set(vm, { ...c.host(from).domains.get(vm)!, state: 3 });
      return 'fail';
    };
    const r = await createLiveExecutor({ libvirt: c, timeoutMs: 1000, clock: c.clock }).execute(move, { home: 'kvmnode1' });
    expect(r.attempts[0]).toMatchObject({ to: 'kvmnode2', ok: false, repair: 'stopped the stale copy on kvmnode2' });
    expect(r).toMatchObject({ ok: true, host: 'kvmnode3' });
    expect(c.runningOn('server2')).toEqual(['kvmnode3']);
  });

  it('never guesses when both ends run the VM: stops and says so', async () => {
    const c = seedCluster();
    c.script = (vm, from, to) => {
      c.host(to).domains.set(vm, { ...c.host(from).domains.get(vm)! });
      return 'fail';
    };
    const r = await createLiveExecutor({ libvirt: c, timeoutMs: 1000, clock: c.clock }).execute(move, { home: 'kvmnode1' });
    expect(r).toMatchObject({ ok: false, host: '?' });
    expect(r.attempts).toHaveLength(1);
    expect(r.attempts[0]!.error).toMatch(/RUNNING ON BOTH kvmnode1 and kvmnode2/);
  });

  it('does not try other destinations when the source does not answer any more', async () => {
    const c = seedCluster();
    c.script = () => {
      c.host('kvmnode1').reachable = false;
      return 'fail';
    };
    const r = await createLiveExecutor({ libvirt: c, timeoutMs: 1000, clock: c.clock }).execute(move, { home: 'kvmnode1' });
    expect(r).toMatchObject({ ok: false, host: '?' });
    expect(c.calls.filter((x) => x.startsWith('migrate'))).toEqual(['migrate server2 kvmnode1 kvmnode2']);
  });

  it('counts a move whose metadata could not be written as done, and says so', async () => {
    const c = seedCluster();
    c.setMetadata = async () => {
      throw new Error('metadata write refused');
    };
    const r = await createLiveExecutor({ libvirt: c, timeoutMs: 1000, clock: c.clock }).execute(move, { home: 'kvmnode1' });
    expect(r).toMatchObject({ ok: true, host: 'kvmnode2' });
    expect(r.attempts[0]!.error).toMatch(/metadata was not written: metadata write refused/);
  });
});

describe('dry-run executor', () => {
  it('says what it would do and touches nothing', async () => {
    const lines: string[] = [];
    const r = await createDryRunExecutor((l) => lines.push(l)).execute(move, { home: 'kvmnode1' });
    expect(r).toEqual({ migration: move, ok: false, dryRun: true, host: 'kvmnode1', attempts: [] });
    expect(lines).toEqual(['dry run: would migrate server2 from kvmnode1 to kvmnode2 (then kvmnode3): kvmnode1 at 90 %']);
  });
});
