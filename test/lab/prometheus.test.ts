// End-to-end: metrics from and to a real Prometheus (after balancer.test.ts).
// The inventory gains balancer.prometheus (the storage node as the scraper
// and server) and cpu_source: prometheus; apply installs Debian's
// prometheus-node-exporter and prometheus-libvirt-exporter on the
// hypervisors and opens their ports to the scraper only. The storage node
// then runs Debian's prometheus package (the lab's, not apply's: a cluster's
// monitoring is its operator's), scraping them every 2 s, and accepts its API
// port from kvmnode1 through an operator's rule of its own (which apply
// keeps). Then:
//   - the balancer measures every hypervisor through Prometheus;
//   - with kvmnode2's node_exporter stopped, kvmnode2 is unknown (never idle)
//     and neither gives nor receives;
//   - the balancer's own hvmctl_* metrics reach Prometheus through
//     node_exporter's textfile collector;
//   - a cluster host that is not a scraper cannot reach the exporters;
//   - the consolidate strategy measured through it: a host with one idle guest
//     is emptied, one whose node_exporter is down is left alone until it is
//     measured again.
// afterAll applies the lab's own inventory again (the exporters stay; their
// ports close).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labAvailable, labExec, labGuests, labUnavailableReason, mustLabExec, ok, placeGuests, placement, repoRoot, runHvmctl } from './support.ts';

const hypervisors = ['kvmnode1', 'kvmnode2', 'kvmnode3'] as const;
const address = { kvmnode1: '172.21.3.10', kvmnode2: '172.21.3.11', kvmnode3: '172.21.3.12', kvmstorage: '172.21.3.13' } as const;
const PROM = `http://${address.kvmstorage}:9090`;

/** An instant query, asked on the storage node itself; the vector's samples. */
function query(promql: string): { metric: Record<string, string>; value: [number, string] }[] {
  const r = labExec('kvmstorage', `curl -sf --max-time 5 --data-urlencode 'query=${promql.replace(/'/g, `'\\''`)}' http://127.0.0.1:9090/api/v1/query`);
  if (r.code !== 0) return [];
  return (JSON.parse(r.stdout) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
}

/** Wait, bounded, until `check` holds; the last value of `describe` explains a timeout. */
function waitFor(what: string, check: () => boolean, seconds: number): void {
  for (let i = 0; i < seconds; i++) {
    if (check()) return;
    mustLabExec('kvmstorage', 'sleep 1');
  }
  if (!check()) throw new Error(`not within ${seconds} s: ${what}`);
}

type Status = { hosts: { name: string; reachable: boolean; unmeasured?: string; cpuCapacity: number; memTotalMiB: number }[]; reasons?: string[] };

/** `balance once --dry-run --json` from the operator side: the measured snapshot and the plan's reasons. */
function dryRun(): { snapshot: Status; reasons: string[]; notes: string[] } {
  const r = runHvmctl(['balance', 'once', '--dry-run', '--json'], { timeoutMs: 300_000 });
  if (r.code !== 0 && r.code !== 1) throw new Error(`balance once exited ${r.code}: ${r.stderr}\n${r.stdout}`);
  const doc = JSON.parse(r.stdout.trim().split('\n').pop()!) as { hosts: Status['hosts']; plan: { reasons: string[] }; notes: string[] };
  return { snapshot: { hosts: doc.hosts }, reasons: doc.plan.reasons, notes: doc.notes };
}

describe.skipIf(!labAvailable())(`metrics from and to Prometheus${labAvailable() ? '' : ` (skipped: ${labUnavailableReason()})`}`, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hvmctl-prom-'));
  const inventory = path.join(dir, 'inventory.yaml');

  beforeAll(() => {
    const text = readFileSync(path.join(repoRoot, 'inventory.yaml'), 'utf8');
    const prom = `balancer:\n  cpu_source: prometheus\n  prometheus:\n    url: ${PROM}\n    scrapers: [${address.kvmstorage}]\n    window: 20\n    max_age: 10\n`;
    const changed = text.replace(/^balancer:\n/m, prom).replace(/^  cpu_source: procstat\b.*\n/m, '');
    expect(changed).not.toBe(text);
    writeFileSync(inventory, changed);
    ok(runHvmctl(['apply', '-i', inventory], { timeoutMs: 900_000 }));
    // The operator's Prometheus on the storage node, and its own rule for the API (kept by apply).
    mustLabExec('kvmstorage', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus curl >/dev/null');
    const targets = (port: number) => hypervisors.map((h) => `'${address[h]}:${port}'`).join(', ');
    const config = [
      'global: { scrape_interval: 2s, evaluation_interval: 2s, scrape_timeout: 2s }',
      'scrape_configs:',
      `  - { job_name: node, static_configs: [ { targets: [${targets(9100)}] } ] }`,
      `  - { job_name: libvirt, static_configs: [ { targets: [${targets(9177)}] } ] }`,
    ].join('\n');
    ok(runHvmctl(['lab', 'exec', 'kvmstorage', '--', 'sh', '-c', 'cat > /etc/prometheus/prometheus.yml && promtool check config /etc/prometheus/prometheus.yml >/dev/null && systemctl restart prometheus'], { input: `${config}\n` }));
    mustLabExec('kvmstorage', `iptables -A INPUT -s ${address.kvmnode1}/32 -p tcp --dport 9090 -m comment --comment 'operator: prometheus api for the balancer' -j ACCEPT`);
    waitFor('Prometheus scrapes all six exporters', () => query('up == 1').length === 6, 120);
  }, 1_200_000);

  afterAll(() => {
    for (const h of hypervisors) labExec(h, 'systemctl start prometheus-node-exporter');
    labExec('kvmstorage', 'systemctl stop prometheus');
    runHvmctl(['apply'], { timeoutMs: 900_000 });
  }, 1_200_000);

  it("apply installed both exporters on every hypervisor, running, and the libvirt exporter reads libvirt", () => {
    for (const h of hypervisors) {
      expect(mustLabExec(h, 'systemctl is-active prometheus-node-exporter prometheus-libvirt-exporter; id -nG prometheus').trim().split('\n')).toEqual(['active', 'active', expect.stringMatching(/\blibvirt\b/)]);
    }
    expect(query('libvirt_up').map((s) => s.value[1])).toEqual(['1', '1', '1']);
    expect(ok(runHvmctl(['plan', '-i', inventory])).code).toBe(0);
  });

  it('the balancer measures every hypervisor through Prometheus: one CPU each, its memory', () => {
    waitFor('a CPU rate for every host', () => query('rate(node_cpu_seconds_total{mode="idle"}[20s])').length === 3, 60);
    const { snapshot } = dryRun();
    const hosts = snapshot.hosts.filter((h) => (hypervisors as readonly string[]).includes(h.name));
    expect(hosts.map((h) => [h.name, h.reachable, h.cpuCapacity])).toEqual(hypervisors.map((h) => [h, true, 100]));
    // lxcfs: each hypervisor's own 4 GiB, as node_exporter reads its /proc/meminfo.
    for (const h of hosts) expect(Math.round(h.memTotalMiB)).toBe(4096);
  });

  it("a host whose node_exporter stops is unknown, not idle: it neither gives nor receives", () => {
    mustLabExec('kvmnode2', 'systemctl stop prometheus-node-exporter');
    // Prometheus marks the series stale at the first failed scrape.
    waitFor('kvmnode2 is down in Prometheus', () => query(`up{instance="${address.kvmnode2}:9100"} == 0`).length === 1, 30);
    const { snapshot, reasons } = dryRun();
    const node2 = snapshot.hosts.find((h) => h.name === 'kvmnode2')!;
    expect(node2.reachable).toBe(false);
    expect(node2.unmeasured).toBe('no node_exporter series (missing or stale)');
    expect(reasons).toContain('kvmnode2 has unknown metrics (no node_exporter series (missing or stale)): it neither gives nor receives this run');
    expect(snapshot.hosts.filter((h) => h.name !== 'kvmnode2' && h.name !== 'kvmstorage').every((h) => h.reachable)).toBe(true);
    mustLabExec('kvmnode2', 'systemctl start prometheus-node-exporter');
  });

  it("the balancer's own metrics reach Prometheus through node_exporter's textfile collector", () => {
    ok(runHvmctl(['balance', 'once', '--json'], { timeoutMs: 300_000 }));
    const file = mustLabExec('kvmnode1', 'cat /var/lib/prometheus/node-exporter/hvmctl.prom');
    expect(file).toMatch(/^hvmctl_balancer_leader\{host="kvmnode1"\} 1$/m);
    waitFor('hvmctl_balancer_runs_total scraped from kvmnode1', () => query(`hvmctl_balancer_runs_total{instance="${address.kvmnode1}:9100"} >= 1`).length === 1, 30);
    expect(query('hvmctl_balancer_leader').map((s) => s.metric.host)).toEqual(['kvmnode1']);
    expect(query(`hvmctl_balancer_host_unknown{instance="${address.kvmnode1}:9100"}`).length).toBe(3);
  });

  it('the exporters answer the scraper only: not another cluster host', () => {
    for (const port of [9100, 9177]) {
      expect(labExec('kvmstorage', `curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://${address.kvmnode1}:${port}/metrics`).stdout).toBe('200');
      const other = labExec('kvmnode2', `timeout 3 bash -c 'exec 3<>/dev/tcp/${address.kvmnode1}/${port}'`);
      expect(other.code, `kvmnode2 reached kvmnode1:${port}`).toBe(124);
    }
  });

  it('consolidate, measured through Prometheus: a host with one idle guest is emptied; a host whose node_exporter is down keeps its guest and receives none until it is measured again', () => {
    // The consolidate strategy (as consolidate.test.ts) with the same Prometheus source.
    const consolidate = path.join(dir, 'consolidate.yaml');
    const text = readFileSync(inventory, 'utf8')
      .replace(/^  strategy: home\b.*$/m, '  strategy: consolidate')
      .replace(/^  home:.*\n(?:    .*\n)+/m, '  consolidate:\n    hosts: [kvmnode1, kvmnode2, kvmnode3]\n    low: 40\n    calm_window: 1\n    cooldown: 0\n');
    expect(text).toMatch(/^  cpu_source: prometheus$/m);
    expect(text).toMatch(/^  consolidate:\n/m);
    writeFileSync(consolidate, text);
    ok(runHvmctl(['apply', '-i', consolidate], { timeoutMs: 900_000 }));
    ok(runHvmctl(['lab', 'vms'], { timeoutMs: 600_000 }));
    // the runs counted are the test's own
    mustLabExec('kvmnode1', 'systemctl stop hvmctl-balancer.timer');
    for (const g of labGuests) ok(runHvmctl(['lab', 'load', g, '0']));
    placeGuests({ server1: 'kvmnode1', server2: 'kvmnode2', server3: 'kvmnode3' });
    mustLabExec('kvmnode3', 'systemctl stop prometheus-node-exporter');
    waitFor('kvmnode3 is down in Prometheus', () => query(`up{instance="${address.kvmnode3}:9100"} == 0`).length === 1, 30);
    type Run = { strategy?: string; plan?: { reasons: string[] }; results?: { vm: string; kind: string; from: string; host: string; ok: boolean }[]; notes?: string[] };
    const runUntil = (done: () => boolean): Run[] => {
      const runs: Run[] = [];
      // a calm window of one run: the first run measures, a later one empties; bounded
      for (let i = 0; i < 6 && !done(); i++) {
        const r = runHvmctl(['balance', 'once', '--json'], { timeoutMs: 300_000 });
        expect([0, 1], r.stderr).toContain(r.code);
        runs.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as Run);
      }
      return runs;
    };
    // kvmnode1 and kvmnode2 hold one idle guest each: either may be emptied onto the other
    const together = () => {
      const p = placement();
      return p.server1!.length === 1 && p.server1![0] === p.server2![0] ? p.server1![0] : undefined;
    };
    const first = runUntil(() => together() !== undefined);
    expect(first.every((r) => r.strategy === 'consolidate')).toBe(true);
    const busy = together();
    expect(busy, JSON.stringify(placement())).toMatch(/^kvmnode[12]$/);
    const emptied = busy === 'kvmnode1' ? 'kvmnode2' : 'kvmnode1';
    const movedFirst = first.flatMap((r) => r.results ?? []).filter((m) => m.ok);
    expect(movedFirst.map((m) => [m.from, m.host, m.kind])).toEqual([[emptied, busy, 'consolidate']]);
    expect(first.flatMap((r) => r.plan?.reasons ?? [])).toContain('kvmnode3 has unknown metrics (no node_exporter series (missing or stale)): it neither gives nor receives this run');
    expect(placement().server3).toEqual(['kvmnode3']);
    // measured again (a full window of fresh series), kvmnode3 is emptied too
    mustLabExec('kvmnode3', 'systemctl start prometheus-node-exporter');
    waitFor('a CPU rate for kvmnode3 again', () => query(`rate(node_cpu_seconds_total{mode="idle",instance="${address.kvmnode3}:9100"}[20s])`).length === 1, 60);
    const second = runUntil(() => placement().server3![0] !== 'kvmnode3');
    expect(second.flatMap((r) => r.results ?? []).filter((m) => m.ok).map((m) => [m.vm, m.from, m.host])).toEqual([['server3', 'kvmnode3', busy]]);
    expect(placement()).toEqual({ server1: [busy], server2: [busy], server3: [busy] });
    const notes = [...first, ...second].flatMap((r) => r.notes ?? []);
    for (const h of [emptied, 'kvmnode3']) expect(notes.some((n) => n.startsWith(`${h} is empty: it may be switched off`)), `${h} reported empty`).toBe(true);
  }, 900_000);
});
