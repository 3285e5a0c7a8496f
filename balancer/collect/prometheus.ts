// The `prometheus` measuring source: hosts' CPU and memory from node_exporter,
// each VM's CPU from the libvirt exporter (Debian's prometheus-node-exporter
// and prometheus-libvirt-exporter), read with PromQL instant queries at one
// evaluation time, each rate over `window` seconds.
//
// A series that is missing or stale is unknown, never idle: Prometheus drops
// a series from an instant query once its target stops answering (a staleness
// marker), and a rate needs two samples inside the window; on top of that a
// host whose newest sample is older than `maxAge` is stale. A host with any
// unknown number (its own, or one of its running VMs') neither gives nor
// receives this run. Which VMs run where still comes from libvirt, which the
// migrations use anyway: a scrape may be up to a scrape interval old.
//
// Hosts are matched to Prometheus' `instance` label ("host:port") by the
// host part: the inventory name, FQDN or address.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ParseError } from '../../src/errors.ts';
import type { PrometheusSpec } from '../../src/inventory/types.ts';

export interface PromSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Seconds (Unix) of the evaluation. */
  readonly at: number;
}

export interface PrometheusClient {
  /** An instant query evaluated at `time` (Unix seconds). */
  query(promql: string, time: number): Promise<PromSample[]>;
}

/** Parse the HTTP API's answer to an instant query (`resultType` vector or scalar). */
export function parseQueryResponse(text: string, what = 'prometheus query'): PromSample[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ParseError(what, `not JSON: ${JSON.stringify(text.slice(0, 120))}`);
  }
  const d = doc as { status?: unknown; error?: unknown; errorType?: unknown; data?: { resultType?: unknown; result?: unknown } };
  if (d.status !== 'success') throw new ParseError(what, `status ${JSON.stringify(d.status)}: ${String(d.errorType ?? '')} ${String(d.error ?? '')}`.trim());
  const type = d.data?.resultType;
  const result = d.data?.result;
  const num = (v: unknown): number => {
    // Prometheus sends sample values as strings ("NaN", "+Inf" included).
    const n = typeof v === 'string' ? Number(v) : NaN;
    if (typeof v !== 'string' || (Number.isNaN(n) && v !== 'NaN')) throw new ParseError(what, `a sample value ${JSON.stringify(v)} is not a number`);
    return n;
  };
  const pair = (v: unknown): [number, number] => {
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number') throw new ParseError(what, `a sample ${JSON.stringify(v)} is not [time, "value"]`);
    return [v[0], num(v[1])];
  };
  if (type === 'scalar') {
    const [at, value] = pair(result);
    return [{ labels: {}, value, at }];
  }
  if (type !== 'vector' || !Array.isArray(result)) throw new ParseError(what, `expected a vector, got ${JSON.stringify(type)}`);
  return result.map((r: { metric?: unknown; value?: unknown }) => {
    const labels = r.metric;
    if (typeof labels !== 'object' || labels === null || Object.values(labels).some((x) => typeof x !== 'string')) {
      throw new ParseError(what, `a series has no labels object: ${JSON.stringify(r).slice(0, 120)}`);
    }
    const [at, value] = pair(r.value);
    return { labels: labels as Record<string, string>, value, at };
  });
}

/** The HTTP API client: GET {url}/api/v1/query, bounded by `timeoutMs`. */
export function createPrometheusClient(url: string, timeoutMs = 10_000): PrometheusClient {
  const base = url.replace(/\/+$/, '');
  return {
    query(promql, time) {
      const target = new URL(`${base}/api/v1/query`);
      target.searchParams.set('query', promql);
      target.searchParams.set('time', time.toFixed(3));
      const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
      return new Promise((resolve, reject) => {
        const req = request(target, { method: 'GET', timeout: timeoutMs, headers: { accept: 'application/json' } }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            // 4,000 VMs' series are about 1 MB; far more is not an answer to our queries.
            if (size > 64 * 1024 * 1024) req.destroy(new Error('answer larger than 64 MiB'));
            else chunks.push(c);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              // Prometheus answers errors (400 bad query, 422, 503) with the same JSON envelope.
              resolve(parseQueryResponse(text, `${base}: ${promql}`));
            } catch (error) {
              reject(res.statusCode !== 200 && !(error instanceof ParseError) ? new Error(`HTTP ${res.statusCode}`) : error);
            }
          });
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
        req.on('error', (e) => reject(new Error(`${base}: ${e.message}`)));
        req.end();
      });
    },
  };
}

export interface PromHost {
  readonly name: string;
  readonly fqdn: string;
  readonly address: string;
}

export interface HostLoad {
  /** Percent of one core times the CPUs (a 2-CPU host: 200). */
  readonly cpuCapacity: number;
  readonly cpuUsed: number;
  readonly memTotalMiB: number;
  readonly memAvailableMiB: number;
}

export interface PromMeasurement {
  /** Per host: its load, or why it is unknown. */
  readonly hosts: ReadonlyMap<string, HostLoad | { readonly unknown: string }>;
  /** Per host, per domain: CPU used in percent of one core, over the window. */
  readonly vmCpu: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/** The queries, each by name; `w` is the window in seconds. */
export function promQueries(w: number): Readonly<Record<string, string>> {
  return {
    cpus: 'count by (instance) (node_cpu_seconds_total{mode="idle"})',
    idle: `sum by (instance) (rate(node_cpu_seconds_total{mode=~"idle|iowait"}[${w}s]))`,
    memTotal: 'node_memory_MemTotal_bytes',
    memAvailable: 'node_memory_MemAvailable_bytes',
    nodeAt: 'timestamp(node_memory_MemAvailable_bytes)',
    vmCpu: `sum by (instance, domain) (rate(libvirt_domain_info_cpu_time_seconds_total[${w}s]))`,
    libvirtUp: 'libvirt_up',
    libvirtAt: 'timestamp(libvirt_up)',
  };
}

/** The host an `instance` label ("name:port", "[v6]:port", or a bare name) belongs to. */
export function hostOfInstance(instance: string, hosts: readonly PromHost[]): string | undefined {
  const bracket = /^\[(.*)\](?::\d+)?$/.exec(instance);
  const part = bracket ? bracket[1]! : instance.replace(/:\d+$/, '');
  return hosts.find((h) => h.name === part || h.fqdn === part || h.address === part)?.name;
}

/** Sort each query's samples by host; an instance that is no host of ours is left out. */
function byHost(samples: readonly PromSample[], hosts: readonly PromHost[]): Map<string, PromSample[]> {
  const out = new Map<string, PromSample[]>();
  for (const s of samples) {
    const host = s.labels.instance === undefined ? undefined : hostOfInstance(s.labels.instance, hosts);
    if (host === undefined) continue;
    const list = out.get(host) ?? [];
    list.push(s);
    out.set(host, list);
  }
  return out;
}

/**
 * Turn the answers to promQueries() into each host's load. Pure.
 * `running`: per host, the domains libvirt says are running there now (each needs a CPU rate).
 */
export function measureFromSamples(
  answers: Readonly<Record<keyof ReturnType<typeof promQueries> & string, readonly PromSample[]>>,
  hosts: readonly PromHost[],
  running: ReadonlyMap<string, readonly string[]>,
  now: number,
  maxAge: number,
): PromMeasurement {
  const per = Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, byHost(v, hosts)])) as Record<string, Map<string, PromSample[]>>;
  const one = (query: string, host: string): number | undefined => {
    const list = per[query]!.get(host);
    // Two series for one host (two jobs scraping it) would be counted twice: refuse to guess.
    return list?.length === 1 ? list[0]!.value : undefined;
  };
  const result = new Map<string, HostLoad | { unknown: string }>();
  const vmCpu = new Map<string, Map<string, number>>();
  for (const h of hosts) {
    const unknown = (why: string) => result.set(h.name, { unknown: why });
    const cpus = one('cpus', h.name);
    const idle = one('idle', h.name);
    const total = one('memTotal', h.name);
    const available = one('memAvailable', h.name);
    const nodeAt = one('nodeAt', h.name);
    const up = one('libvirtUp', h.name);
    const libvirtAt = one('libvirtAt', h.name);
    if (cpus === undefined || total === undefined || available === undefined || nodeAt === undefined) {
      unknown('no node_exporter series (missing or stale)');
      continue;
    }
    if (idle === undefined || !Number.isFinite(idle)) {
      unknown(`no CPU rate from node_exporter (fewer than two samples in the window)`);
      continue;
    }
    if (now - nodeAt > maxAge) {
      unknown(`node_exporter's newest sample is ${Math.round(now - nodeAt)} s old (max_age ${maxAge} s)`);
      continue;
    }
    if (up === undefined || libvirtAt === undefined) {
      unknown('no libvirt exporter series (missing or stale)');
      continue;
    }
    if (now - libvirtAt > maxAge) {
      unknown(`the libvirt exporter's newest sample is ${Math.round(now - libvirtAt)} s old (max_age ${maxAge} s)`);
      continue;
    }
    if (up !== 1) {
      unknown('the libvirt exporter cannot reach libvirtd (libvirt_up 0)');
      continue;
    }
    const vms = new Map<string, number>();
    for (const s of per.vmCpu!.get(h.name) ?? []) {
      const d = s.labels.domain;
      if (d !== undefined && Number.isFinite(s.value)) vms.set(d, Math.max(0, s.value * 100));
    }
    const missing = (running.get(h.name) ?? []).filter((d) => !vms.has(d));
    if (missing.length > 0) {
      unknown(`no CPU rate for ${missing.join(', ')} (arrived or started less than a window ago, or not scraped)`);
      continue;
    }
    vmCpu.set(h.name, vms);
    const capacity = cpus * 100;
    result.set(h.name, {
      cpuCapacity: capacity,
      cpuUsed: Math.min(capacity, Math.max(0, (cpus - idle) * 100)),
      memTotalMiB: total / 1048576,
      memAvailableMiB: available / 1048576,
    });
  }
  return { hosts: result, vmCpu };
}

/** Ask every query at once, at `now`, and measure. A failed query fails the whole measurement. */
export async function measureWithPrometheus(
  client: PrometheusClient,
  spec: Pick<PrometheusSpec, 'window' | 'maxAge'>,
  hosts: readonly PromHost[],
  running: ReadonlyMap<string, readonly string[]>,
  now: number,
): Promise<PromMeasurement> {
  const queries = promQueries(spec.window);
  const entries = await Promise.all(Object.entries(queries).map(async ([k, q]) => [k, await client.query(q, now)] as const));
  return measureFromSamples(Object.fromEntries(entries) as Parameters<typeof measureFromSamples>[0], hosts, running, now, spec.maxAge);
}
