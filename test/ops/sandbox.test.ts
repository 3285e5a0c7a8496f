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
      { task: 'firewall live rules', status: 'changed', reason:
          'would load firewall rules: missing rule: hvmctl: migration from kvmnode2; kept 3 rule(s) apply does not own: -A INPUT -j LIBVIRT_INP | ' +
          '-A INPUT -s 192.0.2.7/32 -p tcp -m tcp --dport 22 -j ACCEPT | -A INPUT -s 198.51.100.10/32 -p tcp -m tcp --dport 22 -m comment --comment "site: jump host" -j ACCEPT',
      },
    ]);
    expect(d.fix.filter((r) => r.status === 'changed').map((r) => r.task)).toEqual(['firewall live rules']);
    expect(status(d.third)).toEqual(status(d.second));
    const wanted = d.rulesFile.split('\n').filter((l) => l.startsWith('-A '));
    // libvirt's jump ahead (where libvirt put it), apply's rules, the other
    // administrators' rules after them; the accept-everything rule is gone.
    expect(d.live.split('\n').filter((l) => l.startsWith('-A INPUT '))).toEqual([
      '-A INPUT -j LIBVIRT_INP',
      ...wanted,
      '-A INPUT -s 192.0.2.7/32 -p tcp -m tcp --dport 22 -j ACCEPT',
      '-A INPUT -s 198.51.100.10/32 -p tcp -m tcp --dport 22 -m comment --comment "site: jump host" -j ACCEPT',
    ]);
    expect(d.first.find((r) => r.task === 'firewall live rules')?.reason).toContain(
      'removed rule apply does not own: -A INPUT -j ACCEPT (accepts from every address, the guests on the bridge included)',
    );
    // libvirt's chains, their rules and its FORWARD/OUTPUT jumps are untouched.
    for (const line of ['-A FORWARD -j LIBVIRT_FWX', '-A OUTPUT -j LIBVIRT_OUT', '-A LIBVIRT_INP -i virbr0 -p udp -m udp --dport 67 -j ACCEPT']) expect(d.live).toContain(line);
    // IPv6: the file's rules are the live ones, default drop.
    const wanted6 = d.rulesFile6.split('\n').filter((l) => l.startsWith('-A '));
    expect(wanted6.length).toBeGreaterThan(8);
    expect(d.live6.split('\n').filter((l) => l.startsWith('-A INPUT '))).toEqual(['-A INPUT -j LIBVIRT_INP', ...wanted6]);
    expect(d.live6).toContain(':INPUT DROP');
  }, 150_000);
});
