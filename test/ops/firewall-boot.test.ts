import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connector/local.ts';
import { sh } from '../../src/shell.ts';
import { osProfiles } from '../../src/os/profiles.ts';
import { beforeInstallScript, firewallBootTask, IPTABLES_PERSISTENT_PRESEED, keepLiveRulesets, planFirewallBoot } from '../../tasks/ops/firewall-boot.ts';
import { firewallTasks } from '../../tasks/ops/firewall.ts';
import { installCommand } from '../../tasks/ops/packages.ts';
import { ctxFor, host, scripts } from './ops-support.ts';

const iptables = { firewallCmd: false, firewalldRunning: false, nft: true, iptablesRestore: true };
const debian = host('kvmnode1');
const redhat = { ...debian, osFamily: 'redhat' as const };
const unit = (enabled: boolean) => ({ enabled, active: enabled });
const facts = (over: Record<string, unknown> = {}) => ({
  tools: iptables,
  installed: new Set<string>(),
  init: 'systemd',
  'unit:netfilter-persistent': unit(false),
  'unit:iptables': unit(false),
  'unit:ip6tables': unit(false),
  ...over,
});
const hasDebconf = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v debconf-set-selections'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('firewall at boot', () => {
  it('runs after both rules files are written and the live rules loaded (Debian starts its unit at install, loading them)', () => {
    expect(firewallTasks.map((t) => t.name)).toEqual(['firewall rules file', 'firewall live rules', 'firewall at boot']);
    expect(firewallBootTask.stage).toBe('base');
    expect(Object.values(firewallBootTask.facts(ctxFor('kvmnode1'))).map((f) => f.key)).toEqual([
      'firewall-tools',
      'dpkg:iptables-persistent,netfilter-persistent',
      'init-process',
      'unit:netfilter-persistent',
    ]);
  });

  it('Debian, bare host: answers iptables-persistent\'s autosave questions "no" first, installs, enables netfilter-persistent', () => {
    const r = planFirewallBoot(debian, 'auto', facts());
    expect(r.changes.map((c) => c.summary)).toEqual([
      'install iptables-persistent netfilter-persistent (loads /etc/iptables/rules.v4 and /etc/iptables/rules.v6 at boot)',
      'enable netfilter-persistent (loads /etc/iptables/rules.v4 and /etc/iptables/rules.v6 at boot)',
    ]);
    expect(scripts(r)).toEqual([
      keepLiveRulesets(
        [
          "printf '%s\\n' 'iptables-persistent iptables-persistent/autosave_v4 boolean false' 'iptables-persistent iptables-persistent/autosave_v6 boolean false' | debconf-set-selections",
          installCommand('debian', ['iptables-persistent', 'netfilter-persistent']),
        ].join('\n'),
      ),
      'systemctl enable netfilter-persistent',
    ]);
    // enabled, not started: the live task already loaded the rules
    expect(scripts(r).join('\n')).not.toContain('--now');
  });

  it.skipIf(!hasDebconf)('the preseed lines are valid debconf-set-selections input (checked by the real tool, -c)', async () => {
    const check = (beforeInstallScript(osProfiles.debian.firewallLoader) ?? '').replace(/\| debconf-set-selections$/, '| debconf-set-selections -c');
    expect(check).toMatch(/-c$/);
    const r = await new LocalConnector().run(check);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(IPTABLES_PERSISTENT_PRESEED).toHaveLength(2);
  });

  it('Debian: installed and enabled is a no-op with a reason; installed but disabled is enabled only', () => {
    const installed = new Set(['iptables-persistent', 'netfilter-persistent']);
    expect(planFirewallBoot(debian, 'iptables', facts({ installed, 'unit:netfilter-persistent': unit(true) }))).toEqual({
      changes: [],
      reason: 'netfilter-persistent enabled: /etc/iptables/rules.v4 and /etc/iptables/rules.v6 are loaded at boot',
    });
    expect(scripts(planFirewallBoot(debian, 'auto', facts({ installed })))).toEqual(['systemctl enable netfilter-persistent']);
  });

  it('RHEL family: iptables-nft-services, units iptables and ip6tables, the sysconfig files, no debconf', () => {
    const r = planFirewallBoot(redhat, 'auto', facts({ 'unit:ip6tables': unit(true) }));
    expect(scripts(r)).toEqual(['dnf install -y iptables-nft-services', 'systemctl enable iptables']);
    expect(r.changes[0]?.summary).toBe('install iptables-nft-services (loads /etc/sysconfig/iptables and /etc/sysconfig/ip6tables at boot)');
    expect(Object.values(firewallBootTask.facts(ctxFor('kvmnode1', { host: redhat }))).map((f) => f.key)).toEqual([
      'firewall-tools',
      'rpm:iptables-nft-services',
      'init-process',
      'unit:iptables',
      'unit:ip6tables',
    ]);
  });

  it('PID 1 not systemd: installs, enables nothing, and says who must load the files', () => {
    const r = planFirewallBoot(debian, 'auto', facts({ init: 'process_api', 'unit:netfilter-persistent': undefined }));
    expect(r.changes.map((c) => c.summary)).toEqual(['install iptables-persistent netfilter-persistent (loads /etc/iptables/rules.v4 and /etc/iptables/rules.v6 at boot)']);
    const done = planFirewallBoot(debian, 'auto', facts({ init: 'process_api', installed: new Set(['iptables-persistent', 'netfilter-persistent']) }));
    expect(done).toEqual({
      changes: [],
      reason: "PID 1 is process_api, not systemd: netfilter-persistent cannot be enabled here; the host's own start-up must load /etc/iptables/rules.v4 and /etc/iptables/rules.v6",
    });
  });

  it('other backends: skipped with a reason (firewalld loads its own; nftables has no iptables rules)', () => {
    expect(planFirewallBoot(debian, 'auto', facts({ tools: { ...iptables, firewallCmd: true, firewalldRunning: true } })).reason).toBe(
      'firewalld is the backend; it loads its own configuration at boot',
    );
    expect(planFirewallBoot(debian, 'auto', facts({ tools: { ...iptables, iptablesRestore: false } })).reason).toBe('no iptables rules to load at boot (backend nftables)');
  });

  it('systemd without the unit state read is an error, not a silent no-op', () => {
    expect(() => planFirewallBoot(debian, 'auto', facts({ 'unit:netfilter-persistent': undefined }))).toThrow(/state of netfilter-persistent was not read/);
  });
});

// The install starts netfilter-persistent, whose plugin runs `iptables-restore
// < rules.v4` without --noflush: that wipes libvirt's chains (checked on this
// machine's iptables 1.8.9). Here the same restore stands in for the install,
// run by a real shell inside a private network namespace (`unshare --net`:
// this machine's firewall never changes), with libvirt's real rules (captured)
// loaded before it.
const canUnshare = process.getuid?.() === 0 && (() => {
  try {
    execFileSync('sh', ['-c', 'command -v unshare && command -v iptables-restore'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!canUnshare)(`the loader started by the install${canUnshare ? '' : ' (skipped: needs root, unshare and iptables)'}`, () => {
  it("does not wipe libvirt's chains nor the live INPUT: the install runs between a save and a restore", () => {
    const live = readFileSync(fileURLToPath(new URL('../fixtures/captured/iptables-save-foreign-libvirt.txt', import.meta.url)), 'utf8');
    const dir = mkdtempSync(join(tmpdir(), 'hvmctl-boot-'));
    try {
      writeFileSync(join(dir, 'live'), live);
      writeFileSync(join(dir, 'rules.v4'), '*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n');
      const start = sh`iptables-restore < ${join(dir, 'rules.v4')}`; // what netfilter-persistent's start does
      const run = (script: string) =>
        execFileSync('unshare', ['--net', 'sh', '-c', `iptables-restore < ${sh`${join(dir, 'live')}`} && ${script} ; echo "status $?"; iptables-save -t filter`], { encoding: 'utf8' });
      const without = run(`sh -c ${sh`${start}`}`);
      expect(without).not.toContain('LIBVIRT_INP');
      const kept = run(`sh -c ${sh`${keepLiveRulesets(start)}`}`);
      expect(kept).toContain('status 0');
      const rules = (text: string) => text.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':'));
      expect(rules(kept)).toEqual(rules(live).map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]')));
      const failed = run(`sh -c ${sh`${keepLiveRulesets(`${start}\nfalse`)}`}`);
      expect(failed).toContain('status 1');
      expect(failed).toContain('-A INPUT -j LIBVIRT_INP');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
