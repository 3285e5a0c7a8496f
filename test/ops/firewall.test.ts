import { describe, expect, it } from 'vitest';
import { HvmError } from '../../src/errors.ts';
import { wantedFirewallRules } from '../../src/render/managed-files.ts';
import { runPlaybook } from '../../tasks/engine/runner.ts';
import { parseIptablesSave } from '../../tasks/facts/iptables.ts';
import { handlers } from '../../tasks/handlers.ts';
import {
  acceptsSsh,
  chooseBackend,
  firewallFile,
  inputChainRestore,
  firewallLiveTask,
  firewallTasks,
  operatorIpv4,
  planLiveFirewall,
} from '../../tasks/ops/firewall.ts';
import { captured } from '../facts/captured.ts';
import { FakeConnector, ok, type Recorded } from '../support/fake-connector.ts';
import { ctxFor, host, inventory, scripts } from './ops-support.ts';

const tools = { firewallCmd: false, firewalldRunning: false, nft: true, iptablesRestore: true };
// Captured: the rendered rules for kvmnode1 (operator 10.0.0.5) loaded with
// iptables-restore in a fresh namespace, then read back with iptables-save.
const applied = parseIptablesSave(captured('iptables-save-after-restore-kvmnode1.txt'));
const ctx = ctxFor('kvmnode1', { operatorAddress: '10.0.0.5' });
const wanted = wantedFirewallRules(inventory, host('kvmnode1'), { operatorAddress: '10.0.0.5' });
const plan = (live: ReturnType<typeof parseIptablesSave> | undefined, t = tools) => firewallLiveTask.plan(ctx, { tools: t, live });

function without(comment: string) {
  return { ...applied, rules: applied.rules.filter((r) => r.comment !== comment) };
}

describe('firewall live rules', () => {
  it('no-op when iptables-save shows exactly the rendered rules (round trip captured)', () => {
    const r = plan(applied);
    expect(r.changes).toEqual([]);
    expect(r.reason).toMatch(/live firewall matches: 9 hvmctl rules, INPUT policy DROP/);
  });

  it('a deleted rule is named, and the whole file is restored atomically', () => {
    const r = plan(without('hvmctl: migration from kvmnode2'));
    expect(r.changes).toHaveLength(1);
    expect(r.changes[0]?.summary).toBe('load firewall rules: missing rule: hvmctl: migration from kvmnode2');
    expect(r.changes[0]?.commands).toEqual([{ script: 'iptables-restore --noflush', input: inputChainRestore(wanted) }]);
    expect(inputChainRestore(wanted)).toBe(
      `*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-F INPUT\n${wanted.join('\n')}\nCOMMIT\n`,
    );
    // Same -A lines as the persisted file.
    expect(firewallFile(ctx).content.split('\n').filter((l) => l.startsWith('-A '))).toEqual(wanted);
  });

  it('an extra hvmctl rule, a wrong policy and foreign rules are named', () => {
    const live = parseIptablesSave(captured('iptables-save-filter.txt'));
    const r = plan({ ...applied, policies: { ...applied.policies, INPUT: 'ACCEPT' }, rules: [...applied.rules, ...live.rules.slice(4)] });
    const summary = r.changes[0]?.summary ?? '';
    expect(summary).toContain('extra rule: hvmctl: migration from kvmnode2');
    expect(summary).not.toContain('missing rule');
    expect(summary).toContain('INPUT policy ACCEPT -> DROP');
    expect(summary).toContain('1 rule(s) in it without an hvmctl comment go too');
  });

  it('a blank host (ACCEPT everything, no rules) gets every rule', () => {
    const r = plan(parseIptablesSave(captured('iptables-save-filter-empty.txt')));
    expect(r.changes[0]?.summary.match(/missing rule/g)).toHaveLength(9);
    expect(scripts(r)).toEqual(['iptables-restore --noflush']);
  });

  it('rules in another order are a change', () => {
    const rules = [...applied.rules];
    const [a, b] = [rules[3], rules[4]];
    if (!a || !b) throw new Error('fixture too short');
    rules[3] = b;
    rules[4] = a;
    expect(plan({ ...applied, rules }).changes[0]?.summary).toBe('load firewall rules: rules out of order');
  });

  it('never locks the operator out: SSH from the operator address is in the wanted rules, also from outside the cluster', () => {
    expect(acceptsSsh(wanted, '10.0.0.5', 22)).toBe(true);
    expect(acceptsSsh(wanted, '10.0.0.6', 22)).toBe(false);
    expect(acceptsSsh(wanted, '172.21.3.40', 22)).toBe(true); // inside the cluster network
    expect(firewallFile(ctx).content).toContain('-A INPUT -s 10.0.0.5/32 -p tcp -m tcp --dport 22');
    // A rule set without it is refused, whatever the live state.
    const broken = wanted.filter((l) => !l.includes('operator'));
    expect(() => planLiveFirewall(host('kvmnode1'), 'auto', firewallFile(ctx), broken, '10.0.0.5', { tools, live: applied })).toThrow(
      /would not accept SSH from the operator's address 10.0.0.5/,
    );
  });

  it("the operator's address: IPv4, IPv4-mapped; IPv6 is not filtered by iptables and is left out", () => {
    expect(operatorIpv4('10.0.0.5')).toBe('10.0.0.5');
    expect(operatorIpv4('::ffff:10.0.0.5')).toBe('10.0.0.5');
    expect(operatorIpv4('fe80::1')).toBeUndefined();
    expect(operatorIpv4(undefined)).toBeUndefined();
    const v6 = firewallLiveTask.plan(ctxFor('kvmnode1', { operatorAddress: 'fe80::1' }), { tools, live: applied });
    expect(v6.changes[0]?.summary).toBe('load firewall rules: extra rule: hvmctl: operator ssh');
  });

  it('backends: auto picks firewalld when it runs; firewalld and nftables fail clearly instead of doing nothing', () => {
    expect(chooseBackend('auto', tools)).toBe('iptables');
    expect(chooseBackend('auto', { ...tools, firewallCmd: true, firewalldRunning: true })).toBe('firewalld');
    expect(chooseBackend('auto', { ...tools, iptablesRestore: false })).toBe('nftables');
    expect(chooseBackend('auto', { firewallCmd: false, firewalldRunning: false, nft: false, iptablesRestore: false })).toBeUndefined();
    let error: unknown;
    try {
      // firewalld is planned by tasks/ops/firewall-firewalld.ts (test/ops/firewall-firewalld.test.ts).
      firewallLiveTask.plan(ctx, { tools: { ...tools, firewallCmd: true, firewalldRunning: true }, live: applied, firewalld: { state: 'stopped' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HvmError);
    expect((error as HvmError).message).toBe('kvmnode1: firewall backend firewalld, but firewalld is not running');
    expect((error as HvmError).hint).toMatch(/firewall.backend: auto/);
    expect(() => plan(undefined)).toThrow(/iptables-save not found/);
  });

  it('storage node: NFS ports, no migration ports', () => {
    const s = ctxFor('kvmstorage', { operatorAddress: '172.21.3.1' });
    const live = parseIptablesSave(captured('iptables-save-after-restore-kvmstorage.txt'));
    // Captured with operator 10.0.0.5 (outside): from inside the network that rule is not wanted.
    const r = firewallLiveTask.plan(s, { tools, live });
    expect(r.changes[0]?.summary).toBe('load firewall rules: extra rule: hvmctl: operator ssh');
    expect(firewallFile(s).content).toContain('--dport 2049');
    expect(firewallFile(s).content).not.toContain('migration');
  });

  it('through the runner: check mode executes nothing; apply runs exactly iptables-restore with the file', async () => {
    for (const check of [true, false]) {
      const log: Recorded[] = [];
      const conn = new FakeConnector(
        'kvmnode1',
        {
          facts: {
            'firewall-tools': ok('firewall-cmd=no\nnft=yes\niptables-restore=yes\nfirewalld=stopped\n'),
            'iptables-save:filter': ok(captured('iptables-save-filter-empty.txt')),
            'firewalld:hvmctl': { code: 3, stdout: '', stderr: '' }, // no firewall-cmd
            [`file:${firewallFile(ctx).path}`]: ok('absent\n'),
          },
          answers: [[/^printf .*SSH_CLIENT/, ok('10.0.0.5 51234 22\n')]],
        },
        log,
      );
      const report = await runPlaybook({
        inventory,
        tasks: [...firewallTasks],
        handlers,
        hosts: [host('kvmnode1')],
        connect: async () => conn,
        check,
      });
      const executed = log.filter((l) => !l.factKeys && !l.command.includes('SSH_CLIENT'));
      expect(report.results.map((r) => [r.task, r.status])).toEqual([
        ['firewall rules file', 'changed'],
        ['firewall live rules', 'changed'],
        ['handler firewall-reload', 'changed'],
      ]);
      if (check) expect(executed).toEqual([]);
      else {
        expect(executed.map((l) => l.command.split('\n')[0])).toEqual([
          'set -e',
          'iptables-restore --noflush',
          `awk '/^-A INPUT /&&!f{print "-F INPUT";f=1}{print}' /etc/iptables/rules.v4 | iptables-restore --noflush`,
        ]);
        expect(executed[1]?.input).toContain('-s 10.0.0.5/32 -p tcp -m tcp --dport 22');
      }
    }
  });
});
