// The pool, firewall, key pair and balancer tasks applied FOR REAL, by the runner through a
// LocalConnector, on this machine inside private namespaces (sandbox/sandbox.sh:
// own network, copy-on-write /etc, a throw-away libvirtd). Needs root, unshare
// and libvirtd; skipped otherwise.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('./sandbox/', import.meta.url));
const missing =
  process.getuid?.() !== 0
    ? 'not root'
    : spawnSync('sh', ['-c', 'command -v unshare && command -v libvirtd && command -v iptables-save'], { stdio: 'ignore' }).status !== 0
      ? 'unshare, libvirtd or iptables missing'
      : undefined;

interface Row { task: string; status: string; reason: string }

describe.skipIf(missing !== undefined)(`pool, firewall, key pair, balancer in a sandbox${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('apply, no-op re-apply, named drift in check mode, fix exactly that', () => {
    const out = execFileSync(
      'unshare',
      ['--mount', '--uts', '--net', '--pid', '--fork', '--mount-proc', '--propagation', 'private', 'sh', `${dir}sandbox.sh`, 'npx', 'tsx', `${dir}apply-in-sandbox.mts`],
      { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const d = JSON.parse(out) as Record<'first' | 'second' | 'drift' | 'fix' | 'third', Row[]> & {
      poolInfo: string;
      rulesFile: string;
      live: string;
      rulesFile6: string;
      live6: string;
      cron: string;
      agent: string;
    };
    const status = (rows: Row[]) => rows.map((r) => `${r.task}: ${r.status}`);
    expect(status(d.first)).toEqual([
      'firewall rules file: changed',
      'firewall live rules: changed',
      'handler firewall-reload: changed',
      'libvirt pool: changed',
      'cluster ssh key pair: changed',
      'balancer node runtime: ok',
      'balancer directories: changed',
      'balancer files: changed',
      'balancer schedule: changed',
      'handler cron-reload: changed',
    ]);
    expect(d.poolInfo).toMatch(/State:\s+running/);
    expect(d.poolInfo).toMatch(/Autostart:\s+yes/);
    expect(status(d.second)).toEqual([
      'firewall rules file: ok',
      'firewall live rules: ok',
      'libvirt pool: ok',
      'cluster ssh key pair: ok',
      'balancer node runtime: ok',
      'balancer directories: ok',
      'balancer files: ok',
      'balancer schedule: ok',
    ]);
    expect(d.cron).toMatch(/^\* \* \* \* \* root \/usr\/bin\/env node \/opt\/hvmctl\/balancer\.mjs once/m);
    expect(d.cron).toContain('cron-running');
    expect(d.agent).toContain('usage: balancer.mjs');
    expect(d.drift.filter((r) => r.status === 'changed')).toEqual([
      { task: 'firewall live rules', status: 'changed', reason: 'would load firewall rules: missing rule: hvmctl: migration from kvmnode2' },
    ]);
    expect(d.fix.filter((r) => r.status === 'changed').map((r) => r.task)).toEqual(['firewall live rules']);
    expect(status(d.third)).toEqual(status(d.second));
    const wanted = d.rulesFile.split('\n').filter((l) => l.startsWith('-A '));
    expect(d.live.split('\n').filter((l) => l.startsWith('-A INPUT '))).toEqual(wanted);
    // Other chains (libvirt's) survive both the live task and the reload handler.
    expect(d.live).toContain('-A FORWARD -j LIBVIRT_FWX');
    // IPv6: the file's rules are the live ones, default drop.
    const wanted6 = d.rulesFile6.split('\n').filter((l) => l.startsWith('-A '));
    expect(wanted6.length).toBeGreaterThan(8);
    expect(d.live6.split('\n').filter((l) => l.startsWith('-A INPUT '))).toEqual(wanted6);
    expect(d.live6).toContain(':INPUT DROP');
  }, 150_000);
});
