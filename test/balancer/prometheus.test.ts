import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrometheusClient, hostOfInstance, measureFromSamples, parseQueryResponse, promQueries, type PromSample } from '../../balancer/collect/prometheus.ts';
import { ParseError } from '../../src/errors.ts';

const hosts = [
  { name: 'kvmnode1', fqdn: 'kvmnode1.localdomain', address: '172.21.3.10' },
  { name: 'kvmnode2', fqdn: 'kvmnode2.localdomain', address: '172.21.3.11' },
];
const NOW = 1_764_000_000;
const s = (instance: string, value: number, extra: Record<string, string> = {}): PromSample => ({ labels: { instance, ...extra }, value, at: NOW });

/** Answers for both hosts: 1 CPU each, kvmnode1 75 % busy with guest web1 at 50 %, kvmnode2 idle. */
function answers(over: Partial<Record<keyof ReturnType<typeof promQueries>, PromSample[]>> = {}) {
  return {
    cpus: [s('172.21.3.10:9100', 1), s('172.21.3.11:9100', 1)],
    idle: [s('172.21.3.10:9100', 0.25), s('172.21.3.11:9100', 0.98)],
    memTotal: [s('172.21.3.10:9100', 4294967296), s('172.21.3.11:9100', 4294967296)],
    memAvailable: [s('172.21.3.10:9100', 3221225472), s('172.21.3.11:9100', 4026531840)],
    nodeAt: [s('172.21.3.10:9100', NOW - 1.5), s('172.21.3.11:9100', NOW - 1)],
    vmCpu: [s('172.21.3.10:9177', 0.5, { domain: 'web1' })],
    libvirtUp: [s('172.21.3.10:9177', 1), s('172.21.3.11:9177', 1)],
    libvirtAt: [s('172.21.3.10:9177', NOW - 1), s('172.21.3.11:9177', NOW - 1)],
    ...over,
  };
}
const running = new Map([['kvmnode1', ['web1']], ['kvmnode2', []]]);

describe('the Prometheus measuring source', () => {
  it('measures each host (CPU as percent of one core, memory in MiB) and each running VM', () => {
    const m = measureFromSamples(answers(), hosts, running, NOW, 10);
    expect(m.hosts.get('kvmnode1')).toEqual({ cpuCapacity: 100, cpuUsed: 75, memTotalMiB: 4096, memAvailableMiB: 3072 });
    const node2 = m.hosts.get('kvmnode2') as { cpuUsed: number; memAvailableMiB: number };
    expect(node2.cpuUsed).toBeCloseTo(2, 9);
    expect(node2.memAvailableMiB).toBe(3840);
    expect([...m.vmCpu.get('kvmnode1')!]).toEqual([['web1', 50]]);
  });

  it('missing or stale is unknown, never idle', () => {
    const unknown = (over: Parameters<typeof answers>[0]) => {
      const h = measureFromSamples(answers(over), hosts, running, NOW, 10).hosts.get('kvmnode1');
      return h && 'unknown' in h ? h.unknown : 'known';
    };
    expect(unknown({ memTotal: [s('172.21.3.11:9100', 4294967296)] })).toBe('no node_exporter series (missing or stale)');
    expect(unknown({ idle: [s('172.21.3.11:9100', 0.98)] })).toBe('no CPU rate from node_exporter (fewer than two samples in the window)');
    expect(unknown({ nodeAt: [s('172.21.3.10:9100', NOW - 30)] })).toBe("node_exporter's newest sample is 30 s old (max_age 10 s)");
    expect(unknown({ libvirtUp: [] })).toBe('no libvirt exporter series (missing or stale)');
    expect(unknown({ libvirtAt: [s('172.21.3.10:9177', NOW - 11)] })).toBe("the libvirt exporter's newest sample is 11 s old (max_age 10 s)");
    expect(unknown({ libvirtUp: [s('172.21.3.10:9177', 0)] })).toBe('the libvirt exporter cannot reach libvirtd (libvirt_up 0)');
    expect(unknown({ vmCpu: [] })).toBe('no CPU rate for web1 (arrived or started less than a window ago, or not scraped)');
    // Two series for one host (scraped by two jobs) would be counted twice: unknown rather than a guess.
    expect(unknown({ cpus: [s('172.21.3.10:9100', 1), s('kvmnode1:9100', 1)] })).toBe('no node_exporter series (missing or stale)');
    expect(unknown({})).toBe('known');
  });

  it('matches instances by name, FQDN or address, with or without a port; strangers are ignored', () => {
    expect(hostOfInstance('172.21.3.10:9100', hosts)).toBe('kvmnode1');
    expect(hostOfInstance('kvmnode2.localdomain:9177', hosts)).toBe('kvmnode2');
    expect(hostOfInstance('kvmnode2', hosts)).toBe('kvmnode2');
    expect(hostOfInstance('[fe80::1]:9100', hosts)).toBeUndefined();
    expect(hostOfInstance('10.0.0.1:9100', hosts)).toBeUndefined();
  });

  it('every rate is over the configured window', () => {
    const q = promQueries(20);
    expect(q.idle).toBe('sum by (instance) (rate(node_cpu_seconds_total{mode=~"idle|iowait"}[20s]))');
    expect(q.vmCpu).toBe('sum by (instance, domain) (rate(libvirt_domain_info_cpu_time_seconds_total[20s]))');
  });

  it('refuses answers that are not a vector of [time, "value"]', () => {
    expect(() => parseQueryResponse('<html>')).toThrow(ParseError);
    expect(() => parseQueryResponse('{"status":"error","errorType":"bad_data","error":"parse error at char 5"}')).toThrow(/bad_data parse error at char 5/);
    expect(() => parseQueryResponse('{"status":"success","data":{"resultType":"matrix","result":[]}}')).toThrow(/expected a vector/);
    expect(() => parseQueryResponse('{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}}')).toThrow(/not a number/);
    expect(parseQueryResponse('{"status":"success","data":{"resultType":"scalar","result":[1764000000.5,"3"]}}')).toEqual([{ labels: {}, value: 3, at: 1764000000.5 }]);
  });
});

describe('the Prometheus HTTP client', () => {
  let server: Server;
  let url = '';
  let lastQuery: URLSearchParams | undefined;
  beforeAll(async () => {
    server = createServer((req, res) => {
      lastQuery = new URL(req.url!, 'http://x').searchParams;
      if (lastQuery.get('query') === 'hang') return; // never answers
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"a:1"},"value":[5,"1"]}]}}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('asks /api/v1/query with the query and the evaluation time', async () => {
    const out = await createPrometheusClient(url).query('up{job="node"}', 1764000000.25);
    expect(out).toEqual([{ labels: { instance: 'a:1' }, value: 1, at: 5 }]);
    expect(lastQuery?.get('query')).toBe('up{job="node"}');
    expect(lastQuery?.get('time')).toBe('1764000000.250');
  });

  it('a server that never answers fails the query at the bound, naming the server', async () => {
    await expect(createPrometheusClient(url, 200).query('hang', 1)).rejects.toThrow(/127\.0\.0\.1:\d+: no answer within 0.2 s/);
  });
});

describe('answers captured from Prometheus 2.42 with node_exporter 1.5 and the libvirt exporter 0.2 (the lab)', () => {
  const dir = new URL('../fixtures/captured/prometheus/', import.meta.url);
  const load = (set: string) =>
    Object.fromEntries(Object.keys(promQueries(20)).map((k) => [k, parseQueryResponse(readFileSync(new URL(`${set}/${k}.json`, dir), 'utf8'))])) as Parameters<typeof measureFromSamples>[0];
  const lab = [
    { name: 'kvmnode1', fqdn: 'kvmnode1.localdomain', address: '172.21.3.10' },
    { name: 'kvmnode2', fqdn: 'kvmnode2.localdomain', address: '172.21.3.11' },
    { name: 'kvmnode3', fqdn: 'kvmnode3.localdomain', address: '172.21.3.12' },
  ];

  it('fresh: every hypervisor measured (1 CPU, 4 GiB through lxcfs), server1 at about 59 % of a core', () => {
    const m = measureFromSamples(load('fresh'), lab, new Map([['kvmnode1', ['server1', 'server2', 'server3']], ['kvmnode2', []], ['kvmnode3', []]]), 1795981607, 10);
    for (const h of lab) {
      const got = m.hosts.get(h.name) as { cpuCapacity: number; memTotalMiB: number };
      expect(got.cpuCapacity).toBe(100);
      expect(got.memTotalMiB).toBe(4096);
    }
    const node1 = m.hosts.get('kvmnode1') as { cpuUsed: number };
    expect(node1.cpuUsed).toBeCloseTo(64.22, 1); // idle rate 0.3578 of 1 CPU
    expect(m.vmCpu.get('kvmnode1')!.get('server1')).toBeCloseTo(59.22, 1);
    expect([...m.vmCpu.get('kvmnode1')!.keys()]).toEqual(['server1', 'server2', 'server3']);
  });

  it('stale: the last samples are still returned, but without a rate and 110 s old: every host unknown', () => {
    const m = measureFromSamples(load('stale'), lab, new Map(), 1795981498, 10);
    for (const h of lab) expect(m.hosts.get(h.name)).toEqual({ unknown: 'no CPU rate from node_exporter (fewer than two samples in the window)' });
    // Were there a rate, the age alone would do it.
    const withRate = { ...load('stale'), idle: load('fresh').idle! };
    expect(measureFromSamples(withRate, lab, new Map(), 1795981498, 10).hosts.get('kvmnode1')).toEqual({ unknown: "node_exporter's newest sample is 110 s old (max_age 10 s)" });
  });

  it('a query Prometheus refuses is an error naming its reason', () => {
    expect(() => parseQueryResponse(readFileSync(new URL('bad-query.json', dir), 'utf8'))).toThrow(/bad_data invalid parameter "query": 1:29: parse error: missing unit character in duration/);
  });
});
