import { describe, expect, it } from 'vitest';
import { HvmError } from '../../src/errors.ts';
import { runPlaybook } from '../../tasks/engine/runner.ts';
import { type FirewalldState, parseFirewalldZone } from '../../tasks/facts/firewalld.ts';
import { handlers } from '../../tasks/handlers.ts';
import { planFirewalld, richAcceptsSsh, wantedRichRules } from '../../tasks/ops/firewall-firewalld.ts';
import { firewallBootTask } from '../../tasks/ops/firewall-boot.ts';
import { firewallFile, firewallLiveTask, firewallRulesFileTask, firewallTasks } from '../../tasks/ops/firewall.ts';
import { captured } from '../facts/captured.ts';
import { FakeConnector, ok, type Recorded } from '../support/fake-connector.ts';
import { ctxFor, host, inventory, scripts } from './ops-support.ts';
import { fileFact } from '../../tasks/facts/file-state.ts';

const running = { firewallCmd: true, firewalldRunning: true, nft: true, iptablesRestore: true };
const fact = (name: string): FirewalldState => parseFirewalldZone(captured(name));
const planFor = (name: string, operator: string | undefined, firewalld: FirewalldState) =>
  firewallLiveTask.plan(ctxFor(name, operator === undefined ? {} : { operatorAddress: operator }), { tools: running, live: undefined, live6: undefined, firewalld });

const fc = 'firewall-cmd --permanent --zone=hvmctl';
const add = (rule: string) => `${fc} --add-rich-rule='${rule}'`;
const remove = (rule: string) => `${fc} --remove-rich-rule='${rule}'`;
const node1 = wantedRichRules(inventory, host('kvmnode1'), '10.0.0.5').map((r) => r.rule);
const ping = 'rule family="ipv4" source address="172.21.3.13/32" icmp-type name="echo-request" accept';
const opRule = 'rule family="ipv4" source address="10.0.0.5/32" port port="22" protocol="tcp" accept';
const op172 = 'rule family="ipv4" source address="172.21.3.1/32" port port="22" protocol="tcp" accept';
const stray = 'rule family="ipv4" source address="172.21.3.40/32" port port="16509" protocol="tcp" accept';

describe('firewalld backend', () => {
  it.each<[string, string, string | undefined, string, readonly string[]]>([
    // [case, host, operator, fact fixture, expected scripts]
    ['kvmnode1 applied (captured round trip): no-op', 'kvmnode1', '10.0.0.5', 'firewalld-fact-applied-kvmnode1.txt', []],
    ['kvmstorage applied (captured round trip): no-op', 'kvmstorage', '10.0.0.5', 'firewalld-fact-applied-kvmstorage.txt', []],
    ['after the drift was repaired (captured): no-op', 'kvmnode1', '172.21.3.1', 'firewalld-fact-after-drift.txt', []],
    [
      'fresh firewalld: create the zone, target DROP, every rule, reload, then the default zone',
      'kvmnode1',
      '10.0.0.5',
      'firewalld-fact-fresh.txt',
      ['firewall-cmd --permanent --new-zone=hvmctl', `${fc} --set-target=DROP`, ...node1.map(add), 'firewall-cmd --reload', 'firewall-cmd --set-default-zone=hvmctl'],
    ],
    [
      'drift (captured): target, missing rules (the new operator rule too), extra rules (the old operator rule too), default zone',
      'kvmnode1',
      '172.21.3.1',
      'firewalld-fact-drift.txt',
      [`${fc} --set-target=DROP`, add(op172), add(ping), remove(opRule), remove(stray), 'firewall-cmd --reload', 'firewall-cmd --set-default-zone=hvmctl'],
    ],
  ])('%s', (_what, name, operator, fixture, want) => {
    expect(scripts(planFor(name, operator, fact(fixture)))).toEqual(want);
  });

  it('a no-op says why; a change names each difference', () => {
    expect(planFor('kvmnode1', '10.0.0.5', fact('firewalld-fact-applied-kvmnode1.txt')).reason).toBe(
      'firewalld zone hvmctl matches: 9 rich rules, target DROP, default zone',
    );
    expect(planFor('kvmnode1', '172.21.3.1', fact('firewalld-fact-drift.txt')).changes[0]?.summary).toBe(
      `firewalld zone hvmctl: zone target ACCEPT -> DROP; missing rule: operator ssh; missing rule: ping from kvmstorage; extra rule: ${opRule}; extra rule: ${stray}; default zone public -> hvmctl`,
    );
  });

  it('only the default zone differs: no reload, just --set-default-zone', () => {
    const applied = fact('firewalld-fact-applied-kvmnode1.txt');
    if (applied.state !== 'running') throw new Error('fixture');
    expect(scripts(planFor('kvmnode1', '10.0.0.5', { ...applied, defaultZone: 'public' }))).toEqual(['firewall-cmd --set-default-zone=hvmctl']);
  });

  it("never removes a rule accepting SSH from the operator's address, even when it is not wanted", () => {
    const applied = fact('firewalld-fact-applied-kvmnode1.txt');
    if (applied.state !== 'running' || !applied.zone) throw new Error('fixture');
    // A hand-made rule that also lets the operator (10.0.0.5) in.
    const own = 'rule family="ipv4" source address="10.0.0.0/24" port port="22" protocol="tcp" accept';
    const live = { ...applied, zone: { ...applied.zone, richRules: [...applied.zone.richRules, own] } };
    const r = planFor('kvmnode1', '10.0.0.5', live);
    expect(scripts(r)).toEqual([]);
    expect(r.reason).toContain("kept 1 extra rule(s) accepting SSH from the operator's address 10.0.0.5");
    // Without an operator address (local run) it is extra and goes, with the operator rule.
    expect(scripts(planFor('kvmnode1', undefined, live))).toEqual([remove(opRule), remove(own), 'firewall-cmd --reload']);
  });

  it('the operator gets its own SSH rule wherever it connects from, unless it is another host of the cluster', () => {
    const rules = (operator: string) => wantedRichRules(inventory, host('kvmnode1'), operator);
    expect(rules('10.0.0.5').map((r) => r.rule)).toContain(opRule);
    // Inside the cluster network too: the network is no longer accepted as a whole.
    expect(rules('172.21.3.1')).toContainEqual({ rule: op172, what: 'operator ssh' });
    // kvmnode2's address: its own rule covers it, no second one.
    expect(rules('172.21.3.11').filter((r) => r.rule.includes('"172.21.3.11/32" port port="22"')).map((r) => r.what)).toEqual(['ssh from kvmnode2']);
    expect(richAcceptsSsh(opRule, '10.0.0.5', 22)).toBe(true);
    expect(richAcceptsSsh(opRule, '10.0.0.6', 22)).toBe(false);
    expect(richAcceptsSsh(opRule, '10.0.0.5', 2222)).toBe(false);
    expect(richAcceptsSsh('rule family="ipv4" source address="10.0.0.5" port port="20-30" protocol="tcp" accept', '10.0.0.5', 22)).toBe(true);
    expect(richAcceptsSsh(ping, '172.21.3.13', 22)).toBe(false);
  });

  it.each(['kvmnode1', 'kvmstorage'])('%s: every rich rule has a single address as its source, never the network the guests share', (name) => {
    const rules = wantedRichRules(inventory, host(name), '10.0.0.5');
    expect(rules.map((r) => /source address="([^"]+)"/.exec(r.rule)?.[1]).filter((src) => !src?.endsWith('/32'))).toEqual([]);
    // A guest's address (inside the network, not a host) gets nothing.
    expect(rules.filter((r) => richAcceptsSsh(r.rule, '172.21.3.40', 22))).toEqual([]);
  });

  it('refuses a wanted set that would lock the operator out', () => {
    const wanted = wantedRichRules(inventory, host('kvmnode1'), '172.21.3.1');
    expect(() => planFirewalld(host('kvmnode1'), wanted, '10.0.0.5', fact('firewalld-fact-fresh.txt'))).toThrow(/would not accept SSH from the operator's address 10\.0\.0\.5/);
  });

  it.each<[FirewalldState, RegExp]>([
    [{ state: 'absent' }, /firewall-cmd is not installed/],
    [{ state: 'stopped' }, /firewalld is not running/],
  ])('backend firewalld but %o: a clear error with a hint', (state, message) => {
    const inv = { ...inventory, firewall: { ...inventory.firewall, backend: 'firewalld' as const } };
    const ctx = ctxFor('kvmnode1', { inventory: inv });
    let error: unknown;
    try {
      firewallLiveTask.plan(ctx, { tools: { ...running, firewalldRunning: false }, live: undefined, live6: undefined, firewalld: state });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HvmError);
    expect((error as HvmError).message).toMatch(message);
    expect((error as HvmError).hint).toMatch(/firewall\.backend/);
  });

  it('the iptables rules files are skipped where firewalld is the backend, and so is their boot-time loader', () => {
    const ctx = ctxFor('kvmnode1');
    const r = firewallRulesFileTask.plan(ctx, { 'firewall-tools': running });
    expect(r).toEqual({ changes: [], reason: 'firewalld is the backend; its zone hvmctl is persisted by firewalld', skipped: true });
    const boot = firewallBootTask.plan(ctx, { tools: running, installed: new Set(), init: 'systemd', 'unit:netfilter-persistent': { enabled: false, active: false } });
    expect(boot).toEqual({ changes: [], reason: 'firewalld is the backend; it loads its own configuration at boot', skipped: true });
  });

  it('through the runner: check mode executes nothing; apply runs exactly the firewall-cmd commands, no iptables', async () => {
    for (const check of [true, false]) {
      const log: Recorded[] = [];
      const conn = new FakeConnector(
        'kvmnode1',
        {
          facts: {
            'firewall-tools': ok('firewall-cmd=yes\nnft=yes\niptables-restore=yes\nfirewalld=running\n'),
            'iptables-save:filter': ok(captured('iptables-save-filter-empty.txt')),
            'ip6tables-save:filter': ok(captured('ip6tables-save-filter-empty.txt')),
            'firewalld:hvmctl': ok(captured('firewalld-fact-drift.txt')),
            'init-process': ok('systemd\n'),
            'dpkg:iptables-persistent,netfilter-persistent': { code: 1, stdout: '', stderr: 'dpkg-query: no packages found matching iptables-persistent\n' },
            'unit:netfilter-persistent': ok('enabled=\nactive=inactive\n'),
            [fileFact(firewallFile(ctxFor('kvmnode1')).path).key]: ok('absent\n'),
            [fileFact(firewallFile(ctxFor('kvmnode1'), 'ipv6').path).key]: ok('absent\n'),
          },
          answers: [[/^printf .*SSH_CLIENT/, ok('10.0.0.5 51234 22\n')]],
        },
        log,
      );
      const report = await runPlaybook({ inventory, tasks: [...firewallTasks], handlers, hosts: [host('kvmnode1')], connect: async () => conn, check });
      expect(report.results.map((r) => [r.task, r.status])).toEqual([
        ['firewall rules file', 'skipped'],
        ['firewall live rules', 'changed'],
        ['firewall at boot', 'skipped'],
      ]);
      const executed = log.filter((l) => !l.factKeys && !l.command.includes('SSH_CLIENT')).map((l) => l.command);
      if (check) expect(executed).toEqual([]);
      else {
        const lines = executed.flatMap((c) => c.split('\n')).filter((l) => l !== 'set -e');
        // Operator 10.0.0.5 is outside the network: its rule is wanted, so only the stray one goes.
        expect(lines).toEqual([`${fc} --set-target=DROP`, add(ping), remove(stray), 'firewall-cmd --reload', 'firewall-cmd --set-default-zone=hvmctl']);
      }
    }
  });
});
