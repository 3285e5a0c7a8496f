import { describe, expect, it } from 'vitest';
import { createDryRunExecutor, createLiveExecutor, recover, type Copy } from '../../balancer/migrate.ts';
import type { Migration } from '../../balancer/types.ts';
import { seedCluster } from './fake-cluster.ts';

const move: Migration = { vm: 'server2', from: 'kvmnode1', to: 'kvmnode2', kind: 'migrate', reason: 'kvmnode1 at 90 %', fallbacks: ['kvmnode3'] };

describe('live migration executor', () => {
  it('moves, verifies with libvirt on both ends, and writes home/moved/reason on the destination', async () => {
    const c = seedCluster();
    const r = await createLiveExecutor({ libvirt: c, timeoutMs: 1000, clock: c.clock }).execute(move, { home: 'kvmnode1' });
    expect(r).toMatchObject({ ok: true, host: 'kvmnode2', attempts: [{ to: 'kvmnode2', ok: true }], movedAt: Math.round(c.now / 1000) });
    expect(c.calls.filter((x) => /^(migrate|setMetadata|destroy|resume|undefine|abortJob)/.test(x))).toEqual(['migrate server2 kvmnode1 kvmnode2', 'setMetadata kvmnode2 server2 home=kvmnode1']);
  });

  it('stops an incoming copy (paused for the migration, never ran) on the destination when the source still runs, then tries the next', async () => {
    const c = seedCluster();
    c.script = (vm, from, to) => {
      if (to !== 'kvmnode2') return 'ok';
      // libvirt left an incoming copy behind on kvmnode2 (state 3, reason 2, as captured)
      c.host(to).domains.set(vm, { ...c.host(from).domains.get(vm)!, state: 3, reason: 2, persistent: false });
      return 'fail';
    };
    const r = await createLiveExecutor({ libvirt: c, timeoutMs: 1000, clock: c.clock }).execute(move, { home: 'kvmnode1' });
    expect(r.attempts[0]).toMatchObject({ to: 'kvmnode2', ok: false, repair: 'stopped the incoming copy on kvmnode2, which never ran' });
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
    expect(r.alert).toMatch(/ALERT server2 \(kvmnode1 -> kvmnode2\): it RUNS ON BOTH kvmnode1 and kvmnode2/);
    expect(c.runningOn('server2')).toEqual(['kvmnode1', 'kvmnode2']);
  });

  it('does not try other destinations when the source does not answer any more', async () => {
    const c = seedCluster();
    c.script = () => {
      c.host('kvmnode1').reachable = false;
      return 'fail';
    };
    const r = await createLiveExecutor({ libvirt: c, timeoutMs: 1000, clock: c.clock }).execute(move, { home: 'kvmnode1' });
    expect(r).toMatchObject({ ok: false, host: '?' });
    expect(r.alert).toMatch(/kvmnode1 did not answer/);
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

// The faults the review found with a fake libvirt, and the rest of the table:
// each ends with one running copy, or one paused copy and an alert, and no
// running copy destroyed.
describe('recovery after a failed migration decides from both ends', () => {
  const live = (c: ReturnType<typeof seedCluster>, extra: object = {}) => createLiveExecutor({ libvirt: c, timeoutMs: 1000, clock: c.clock, settleMs: 20_000, ...extra });
  const mutations = (c: ReturnType<typeof seedCluster>) => c.calls.filter((x) => /^(migrate|destroy|resume|undefine|setMetadata)/.test(x));

  it('client killed between Finish and Confirm (source paused, destination running): keeps the destination, stops the stale source', async () => {
    const c = seedCluster();
    c.script = (vm, from, to) => {
      const d = c.host(from).domains.get(vm)!;
      c.host(to).domains.set(vm, { ...d, state: 1, reason: 2 });
      Object.assign(d, { state: 3, reason: 2 });
      return 'fail';
    };
    const r = await live(c).execute(move, { home: 'kvmnode1' });
    expect(r).toMatchObject({ ok: true, host: 'kvmnode2' });
    expect(r.alert).toBeUndefined();
    expect(mutations(c)).toEqual(['migrate server2 kvmnode1 kvmnode2', 'destroy kvmnode1 server2', 'undefine kvmnode1 server2', 'setMetadata kvmnode2 server2 home=kvmnode1']);
    expect(c.runningOn('server2')).toEqual(['kvmnode2']);
    expect(c.host('kvmnode1').domains.has('server2')).toBe(false);
  });

  it('never resumes a source whose destination has run (defined by the migration, now off), and tries no fallback', async () => {
    const c = seedCluster();
    c.script = (vm, from, to) => {
      const d = c.host(from).domains.get(vm)!;
      c.host(to).domains.set(vm, { ...d, state: 5, reason: 3 }); // Finish defined and resumed it; then its QEMU died
      Object.assign(d, { state: 3, reason: 2 });
      return 'fail';
    };
    const r = await live(c).execute(move, { home: 'kvmnode1' });
    expect(r).toMatchObject({ ok: false, host: 'kvmnode1' });
    expect(r.alert).toMatch(/^ALERT server2 \(kvmnode1 -> kvmnode2\): paused on kvmnode1; the copy on kvmnode2 is defined but shut off and may have run .*nothing was stopped: check with `virsh list --all` on kvmnode1 and kvmnode2$/);
    expect(mutations(c)).toEqual(['migrate server2 kvmnode1 kvmnode2']);
    expect(c.host('kvmnode1').domains.get('server2')!.state).toBe(3);
  });

  it('client killed during the transfer: aborts the job libvirtd still drives, clears the incoming copy, then tries the next', async () => {
    const c = seedCluster();
    c.script = (vm, from, to) => {
      if (to !== 'kvmnode2') return 'ok';
      const d = c.host(from).domains.get(vm)!;
      c.host(to).domains.set(vm, { ...d, state: 3, reason: 2, persistent: false });
      Object.assign(d, { state: 3, reason: 2 });
      c.host(from).jobs.add(vm);
      return 'fail';
    };
    const r = await live(c).execute(move, { home: 'kvmnode1' });
    expect(c.calls).toContain('abortJob kvmnode1 server2');
    expect(r.attempts[0]).toMatchObject({ to: 'kvmnode2', ok: false, repair: 'stopped the incoming copy on kvmnode2, which never ran' });
    expect(r).toMatchObject({ ok: true, host: 'kvmnode3' });
    expect(c.runningOn('server2')).toEqual(['kvmnode3']);
  });

  it("a definition the migration left that is gone when the repair comes (the destination's libvirtd restarted) is no failed repair", async () => {
    const c = seedCluster();
    c.script = (vm, from, to) => {
      if (to !== 'kvmnode2') return 'ok';
      // the Finish step defined it on kvmnode2 (inactive); the source runs on
      c.host(to).domains.set(vm, { ...c.host(from).domains.get(vm)!, state: 5, reason: 1, persistent: true });
      return 'fail';
    };
    const undefine = c.undefine.bind(c);
    c.undefine = async (host, vm) => {
      c.host(host).domains.delete(vm); // libvirtd dropped it after the verdict read it
      return undefine(host, vm);
    };
    const r = await live(c).execute(move, { home: 'kvmnode1' });
    expect(r.attempts[0]).toMatchObject({ to: 'kvmnode2', ok: false, repair: 'the inactive definition the migration left on kvmnode2 was gone already' });
    expect(r).toMatchObject({ ok: true, host: 'kvmnode3' });
    expect(c.runningOn('server2')).toEqual(['kvmnode3']);
    expect(c.host('kvmnode2').domains.has('server2')).toBe(false);
  });

  it('source paused and the destination has nothing: it never ran there, so the source is resumed', async () => {
    const c = seedCluster();
    c.script = (_vm, _from, to) => (to === 'kvmnode2' ? 'fail-paused' : 'ok');
    const r = await live(c).execute({ ...move, fallbacks: [] }, { home: 'kvmnode1' });
    expect(r).toMatchObject({ ok: false, host: 'kvmnode1', attempts: [{ to: 'kvmnode2', ok: false, repair: 'resumed server2 on kvmnode1' }] });
    expect(c.runningOn('server2')).toEqual(['kvmnode1']);
  });

  it('source paused and the destination does not answer: leaves it paused, stops nothing, alerts', async () => {
    const c = seedCluster();
    c.script = (vm, from, to) => {
      Object.assign(c.host(from).domains.get(vm)!, { state: 3, reason: 2 });
      c.host(to).reachable = false;
      return 'fail';
    };
    const r = await live(c).execute(move, { home: 'kvmnode1' });
    expect(r).toMatchObject({ ok: false, host: 'kvmnode1' });
    expect(r.alert).toMatch(/ALERT server2 \(kvmnode1 -> kvmnode2\): paused on kvmnode1, and kvmnode2 did not answer .*so it may run there/);
    expect(mutations(c)).toEqual(['migrate server2 kvmnode1 kvmnode2']);
  });

  it('a destination that already holds a copy is not migrated to', async () => {
    const c = seedCluster();
    c.host('kvmnode2').domains.set('server2', { ...c.host('kvmnode1').domains.get('server2')!, state: 3, reason: 1 });
    const r = await live(c).execute(move, { home: 'kvmnode1' });
    expect(r.attempts[0]).toMatchObject({ to: 'kvmnode2', ok: false, error: 'not migrated: kvmnode2 already has a paused copy of server2' });
    expect(r).toMatchObject({ ok: true, host: 'kvmnode3' });
  });

  it('storage that does not answer from the source migrates nothing; from a destination, that destination is skipped', async () => {
    const c = seedCluster();
    const down = new Set(['kvmnode1']);
    const storageCheck = async (host: string) => (down.has(host) ? 'nfs-ls timed out' : undefined);
    const r = await live(c, { storageCheck }).execute(move, { home: 'kvmnode1' });
    expect(r).toMatchObject({ ok: false, host: 'kvmnode1', attempts: [{ to: 'kvmnode2', error: 'not migrated: the shared storage does not answer from kvmnode1: nfs-ls timed out' }] });
    expect(c.calls.some((x) => x.startsWith('migrate'))).toBe(false);
    down.clear();
    down.add('kvmnode2');
    const r2 = await live(c, { storageCheck }).execute(move, { home: 'kvmnode1' });
    expect(r2).toMatchObject({ ok: true, host: 'kvmnode3' });
    expect(r2.attempts[0]!.error).toMatch(/does not answer from kvmnode2/);
  });

  // The whole table, as a pure function: never destroy a running copy, never resume a
  // source whose destination may have run.
  it('recover(): no verdict destroys a running copy or resumes a source whose destination may have run', () => {
    const copies: Copy[] = [
      { kind: 'absent' }, { kind: 'off' }, { kind: 'running' }, { kind: 'paused', forMigration: true }, { kind: 'paused', forMigration: false },
      { kind: 'stopped', state: 6 }, { kind: 'unknown', why: 'no answer' },
    ];
    let cases = 0;
    for (const src of copies) for (const dst of copies) for (const dstDefinedBefore of [false, true]) {
      const v = recover('vm', 'a', 'b', { src, dst, dstDefinedBefore });
      const label = JSON.stringify({ src, dst, dstDefinedBefore, v });
      cases++;
      if (v.outcome === 'moved') {
        expect(dst.kind, label).toBe('running');
        if (v.destroySource) expect(src.kind, label).toBe('paused');
      }
      if (v.outcome === 'stayed') {
        if (v.destroyDestination) expect(dst.kind === 'paused' && dst.forMigration, label).toBe(true);
        if (v.resumeSource) {
          expect(src.kind, label).toBe('paused');
          expect(dst.kind === 'absent' || (dst.kind === 'off' && dstDefinedBefore) || (dst.kind === 'paused' && dst.forMigration), label).toBe(true);
        }
        if (!v.resumeSource) expect(src.kind, label).toBe('running');
      }
      if (v.outcome === 'alert') expect(v.alert, label).toMatch(/^ALERT vm \(a -> b\): .*nothing was stopped/);
    }
    expect(cases).toBe(98);
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
