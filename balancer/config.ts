// The agent's configuration, /etc/hvmctl/balancer.json, rendered by apply from
// the inventory (src/render/balancer-config.ts, BalancerFileConfig): the
// inventory's balancer section (BalancerSpec, camelCase) at the top level,
// plus the hosts list and paths. The strategy is named, and only its own
// section is read (a file without "strategy" predates named strategies and is
// refused rather than guessed):
//   { "strategy": "home",
//     "home": { "hosts": ["kvmnode1"], "helpers": [...], "high": 80, "low": 50,
//               "overloadWindow": 2, "calmWindow": 3, "cooldown": 600 },
//     "maxMigrationsPerRun": 1,
//     "migrationTimeout": 120, "sampleSeconds": 5, "cpuSource": "procstat",
//     "schedule": "* * * * *", "pinned": [], "drained": [],
//     "hosts": [{ "name": "kvmnode1", "address": "172.21.3.10",
//                 "fqdn": "kvmnode1.localdomain", "role": "hypervisor",
//                 "sshPort": 22 }, ...],   (sshPort: its sshd's; optional, 22)
//     "libvirtUri": "qemu+ssh://root@{fqdn}:{port}/system",   (optional)
//     "log": ..., "state": ..., "lock": ..., "jsonl": ...,   (optional)
//     "self": "kvmnode1" }     (optional: the host whose name or FQDN is this
//                               machine's hostname, else home[0])
// Also accepted: the balancer keys under "balancer", in snake_case (as in
// inventory.yaml), and the paths under "paths". Validated once here.
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { HvmError } from '../src/errors.ts';
import { balancerHosts, type BalancerSpec, type PrometheusSpec, type StrategySpec } from '../src/inventory/types.ts';
import { PEER_LIBVIRT_URI } from '../src/libvirt-uri.ts';
import { balancerPaths } from '../src/render/balancer-paths.ts';

export const DEFAULT_CONFIG_PATH = balancerPaths.config;

export interface AgentHost {
  readonly name: string;
  readonly address: string;
  readonly fqdn: string;
  readonly role: 'hypervisor' | 'storage';
  /** The port the host's sshd listens on (ssh -p, the qemu+ssh URI's {port}). */
  readonly sshPort: number;
}

export interface AgentPaths {
  readonly state: string;
  readonly log: string;
  readonly jsonl: string;
  readonly lock: string;
  /** The balancer's own metrics for node_exporter's textfile collector (written only where its directory exists). */
  readonly metrics: string;
  /** drain/undrain made at run time: a file of their own, so that a lost state file undrains nothing. */
  readonly drains: string;
  /** The cluster lease: a lock file on the storage every hypervisor shares. Whichever home's agent
   * holds it acts this run, the others do nothing. '' = none (one agent). */
  readonly leader: string;
}

export interface AgentConfig {
  readonly file: string;
  /** The host this agent runs on (its libvirt is qemu:///system, its /proc is local). */
  readonly self: string;
  readonly hosts: readonly AgentHost[];
  readonly balancer: BalancerSpec;
  readonly paths: AgentPaths;
  /** URI of another hypervisor's libvirt, `{fqdn}`, `{name}` and `{port}` replaced. */
  readonly libvirtUri: string;
  /** The shared storage the VM disks live on (checked from both ends before each migration);
   * undefined in a file rendered before it was written there. */
  readonly storage?: AgentStorage;
}

/** The inventory's nfs section as the agent needs it: where the export is and how hypervisors reach it. */
export interface AgentStorage {
  /** `qemu`: QEMU opens the disks over NFS itself; `kernel`: the hypervisors mount the export. */
  readonly client: 'kernel' | 'qemu';
  /** The storage node's address. */
  readonly address: string;
  /** The export's path as clients name it. */
  readonly export: string;
  /** Where hypervisors mount it (kernel client). */
  readonly mount: string;
}

export const DEFAULT_PATHS: AgentPaths = {
  state: balancerPaths.state,
  log: balancerPaths.log,
  jsonl: balancerPaths.jsonl,
  lock: balancerPaths.lock,
  metrics: balancerPaths.metrics,
  drains: balancerPaths.drains,
  leader: '',
};

export class BalancerConfigError extends HvmError {
  constructor(file: string, message: string, hint?: string) {
    super('E_BALANCER_CONFIG', `${file}: ${message}`, {
      hint: hint ?? 'the file is rendered from the inventory\'s balancer section: fix inventory.yaml and run `hvmctl apply`',
    });
  }
}

export function readAgentConfig(file: string = DEFAULT_CONFIG_PATH, hostname: string = osHostname()): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new BalancerConfigError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(cause)})`,
      'run `hvmctl apply` to install the balancer, or pass --config PATH');
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new BalancerConfigError(file, `not valid JSON: ${(cause as Error).message}`);
  }
  return parseAgentConfig(data, file, hostname);
}

export function parseAgentConfig(data: unknown, file: string, hostname?: string): AgentConfig {
  const fail = (msg: string): never => {
    throw new BalancerConfigError(file, msg);
  };
  if (!isObject(data)) return fail('expected a JSON object');
  const hostsRaw = data.hosts;
  if (!Array.isArray(hostsRaw) || hostsRaw.length === 0) return fail('"hosts" must be a non-empty array');
  const hosts = hostsRaw.map((h, i): AgentHost => {
    if (!isObject(h)) return fail(`hosts[${i}] must be an object`);
    const str = (k: string): string => (typeof h[k] === 'string' && h[k] !== '' ? (h[k] as string) : fail(`hosts[${i}].${k} must be a non-empty string`));
    const role = str('role');
    if (role !== 'hypervisor' && role !== 'storage') fail(`hosts[${i}].role is "${role}", expected "hypervisor" or "storage"`);
    const sshPort = h.sshPort ?? 22;
    if (typeof sshPort !== 'number' || !Number.isInteger(sshPort) || sshPort < 1 || sshPort > 65535) fail(`hosts[${i}].sshPort must be a port number (got ${JSON.stringify(sshPort)})`);
    return { name: str('name'), address: str('address'), fqdn: str('fqdn'), role: role as AgentHost['role'], sshPort: sshPort as number };
  });
  const names = new Set(hosts.map((h) => h.name));
  if (names.size !== hosts.length) fail('"hosts" has a duplicate name');
  const b = data.balancer === undefined ? data : data.balancer;
  if (!isObject(b)) return fail('"balancer" must be an object');
  const pick = (snake: string, camel: string): unknown => (b[snake] !== undefined ? b[snake] : b[camel]);
  const num = (snake: string, camel: string, min: number, max: number, dflt?: number): number => {
    const v = pick(snake, camel) ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      return fail(`balancer.${snake} must be a number from ${min} to ${max} (got ${JSON.stringify(v)})`);
    }
    return v;
  };
  const hypervisorNames = new Set(hosts.filter((h) => h.role === 'hypervisor').map((h) => h.name));
  const hostList = (snake: string, camel: string, dflt: string[]): string[] => {
    const v = pick(snake, camel) ?? dflt;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return fail(`balancer.${snake} must be a list of names`);
    for (const n of v as string[]) if (!hypervisorNames.has(n)) fail(`balancer.${snake} names "${n}", which is not a hypervisor in "hosts"`);
    return v as string[];
  };
  const strList = (snake: string, camel: string): string[] => {
    const v = pick(snake, camel) ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return fail(`balancer.${snake} must be a list of names`);
    return v as string[];
  };
  const strategy = parseStrategy(b, fail, hypervisorNames);
  const cpuSource = pick('cpu_source', 'cpuSource') ?? 'procstat';
  if (typeof cpuSource !== 'string' || !(cpuSource === 'procstat' || cpuSource === 'prometheus' || /^cgroup:\/\S+$/.test(cpuSource))) {
    fail(`balancer.cpu_source is ${JSON.stringify(cpuSource)}, expected "procstat", "prometheus" or "cgroup:/absolute/cpuacct/dir" ({host} is replaced by the host name)`);
  }
  const prometheus = parsePrometheus(pick('prometheus', 'prometheus'), fail);
  if (cpuSource === 'prometheus' && prometheus?.url === undefined) fail('balancer.cpu_source is "prometheus" but balancer.prometheus.url is not set');
  const schedule = pick('schedule', 'schedule') ?? '* * * * *';
  if (typeof schedule !== 'string') fail('balancer.schedule must be a string');
  const balancer: BalancerSpec = {
    ...strategy,
    maxMigrationsPerRun: num('max_migrations_per_run', 'maxMigrationsPerRun', 0, 1000, 1),
    migrationTimeout: num('migration_timeout', 'migrationTimeout', 1, 86400, 120),
    sampleSeconds: num('sample_seconds', 'sampleSeconds', 0.1, 300, 5),
    cpuSource: cpuSource as string,
    ...(prometheus ? { prometheus } : {}),
    schedule: schedule as string,
    pinned: strList('pinned', 'pinned'),
    drained: hostList('drained', 'drained', []),
  };
  const byHostname = hostname === undefined ? undefined : hosts.find((h) => h.role === 'hypervisor' && (h.name === hostname || h.fqdn === hostname || h.fqdn.split('.')[0] === hostname));
  // An agent that cannot find itself must not guess: as home[0] it would take its own libvirt
  // and /proc for that host's. Without a hostname (a caller that says nothing) the first
  // balancer host is meant.
  if (data.self === undefined && hostname !== undefined && byHostname === undefined) {
    fail(
      `this machine's hostname "${hostname}" is none of the hypervisors in "hosts" (${[...hypervisorNames].join(', ')}) by name, FQDN or short name, and the file names no "self": refusing to run as another host`,
    );
  }
  const self = data.self ?? byHostname?.name ?? balancerHosts(strategy)[0];
  if (typeof self !== 'string' || !hypervisorNames.has(self)) fail(`"self" (${JSON.stringify(self)}) must name a hypervisor in "hosts"`);
  const pathsRaw = data.paths ?? {};
  if (!isObject(pathsRaw)) return fail('"paths" must be an object');
  const paths = { ...DEFAULT_PATHS };
  for (const key of Object.keys(DEFAULT_PATHS) as (keyof AgentPaths)[]) {
    const v = pathsRaw[key] ?? data[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !(v.startsWith('/') || (key === 'leader' && v === ''))) fail(`${key} must be an absolute path (got ${JSON.stringify(v)})`);
    (paths as Record<string, string>)[key] = v as string;
  }
  if (pathsRaw.jsonl === undefined && data.jsonl === undefined) paths.jsonl = paths.log.replace(/(\.log)?$/, '.jsonl');
  const libvirtUri = data.libvirtUri ?? PEER_LIBVIRT_URI;
  if (typeof libvirtUri !== 'string' || !libvirtUri.includes('{fqdn}') && !libvirtUri.includes('{name}')) {
    fail(`libvirtUri must be a URI template with {fqdn} or {name} (got ${JSON.stringify(libvirtUri)})`);
  }
  const storage = parseStorage(data.storage, fail);
  return { file, self: self as string, hosts, balancer, paths, libvirtUri: libvirtUri as string, ...(storage ? { storage } : {}) };
}

function parseStorage(raw: unknown, fail: Fail): AgentStorage | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) return fail('"storage" must be an object');
  const client = raw.client;
  if (client !== 'kernel' && client !== 'qemu') return fail(`storage.client is ${JSON.stringify(client)}, expected "kernel" or "qemu"`);
  const address = raw.address;
  if (typeof address !== 'string' || !/^[A-Za-z0-9.:-]{1,253}$/.test(address)) return fail(`storage.address must be a host address (got ${JSON.stringify(address)})`);
  const path = (k: 'export' | 'mount'): string => {
    const v = raw[k];
    if (typeof v !== 'string' || !/^\/[A-Za-z0-9._/-]*$/.test(v)) return fail(`storage.${k} must be an absolute path (got ${JSON.stringify(v)})`);
    return v;
  };
  return { client, address, export: path('export'), mount: path('mount') };
}

export function hypervisorNames(config: AgentConfig): string[] {
  return config.hosts.filter((h) => h.role === 'hypervisor').map((h) => h.name);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type Fail = (msg: string) => never;

/** balancer.prometheus in either spelling; undefined when absent. */
function parsePrometheus(raw: unknown, fail: Fail): PrometheusSpec | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) return fail('balancer.prometheus must be an object');
  const pick = (snake: string, camel: string): unknown => (raw[snake] !== undefined ? raw[snake] : raw[camel]);
  const int = (snake: string, camel: string, min: number, max: number, dflt: number): number => {
    const v = pick(snake, camel) ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return fail(`balancer.prometheus.${snake} must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
    return v;
  };
  const url = raw.url;
  if (url !== undefined && (typeof url !== 'string' || !/^https?:\/\/[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?(\/[A-Za-z0-9._~/-]*)?$/.test(url))) {
    return fail(`balancer.prometheus.url must be http(s)://host[:port][/path] (got ${JSON.stringify(url)})`);
  }
  const scrapers = raw.scrapers ?? [];
  if (!Array.isArray(scrapers) || scrapers.some((x) => typeof x !== 'string')) return fail('balancer.prometheus.scrapers must be a list of addresses');
  return {
    ...(url !== undefined ? { url: url as string } : {}),
    scrapers: scrapers as string[],
    window: int('window', 'window', 10, 3600, 60),
    maxAge: int('max_age', 'maxAge', 5, 3600, 60),
    nodeExporterPort: int('node_exporter_port', 'nodeExporterPort', 1, 65535, 9100),
    libvirtExporterPort: int('libvirt_exporter_port', 'libvirtExporterPort', 1, 65535, 9177),
  };
}

/** The named strategy and its own section, each key in the inventory's or the file's spelling. */
function parseStrategy(b: Record<string, unknown>, fail: Fail, hypervisors: ReadonlySet<string>): StrategySpec {
  const name = b.strategy;
  if (name === undefined) {
    return fail('balancer.strategy is missing: this file predates named strategies (home, consolidate)');
  }
  if (name !== 'home' && name !== 'consolidate') return fail(`balancer.strategy is ${JSON.stringify(name)}, expected "home" or "consolidate"`);
  const raw = b[name] ?? {};
  if (!isObject(raw)) return fail(`balancer.${name} must be an object (the ${name} strategy's settings)`);
  const pick = (snake: string, camel: string): unknown => (raw[snake] !== undefined ? raw[snake] : raw[camel]);
  const key = (snake: string): string => `balancer.${name}.${snake}`;
  const num = (snake: string, camel: string, min: number, max: number, dflt: number): number => {
    const v = pick(snake, camel) ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) return fail(`${key(snake)} must be a number from ${min} to ${max} (got ${JSON.stringify(v)})`);
    return v;
  };
  const hostList = (snake: string, dflt: string[]): string[] => {
    const v = pick(snake, snake) ?? dflt;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return fail(`${key(snake)} must be a list of names`);
    for (const n of v as string[]) if (!hypervisors.has(n)) fail(`${key(snake)} names "${n}", which is not a hypervisor in "hosts"`);
    return v as string[];
  };
  const hosts = hostList('hosts', []);
  if (hosts.length === 0) fail(`${key('hosts')} must name at least one hypervisor`);
  // Defaults as in src/inventory/schema.json (test/balancer/cycle-config.test.ts compares them).
  const d = name === 'home' ? { high: 80, low: 50, overload: 2, calm: 3, cooldown: 600 } : { high: 90, low: 40, overload: 2, calm: 2, cooldown: 600 };
  const high = num('high', 'high', 1, 100, d.high);
  const low = num('low', 'low', 0, 100, d.low);
  if (low >= high) fail(`${key('low')} (${low}) must be below ${key('high')} (${high}), or VMs would bounce`);
  const shared = {
    hosts,
    high,
    low,
    // bounds as in src/inventory/schema.json (test/balancer/config-bounds.test.ts renders its edges)
    overloadWindow: num('overload_window', 'overloadWindow', 1, 1440, d.overload),
    calmWindow: num('calm_window', 'calmWindow', 1, 1440, d.calm),
    cooldown: num('cooldown', 'cooldown', 0, 604800, d.cooldown),
  };
  if (name === 'home') return { strategy: 'home', home: { ...shared, helpers: hostList('helpers', []) } };
  const cooldownMemory = num('cooldown_memory', 'cooldownMemory', 0, 604800, 86400);
  const history = num('history', 'history', 300, 21600, 3600);
  const onEmpty = pick('on_empty', 'onEmpty');
  // eslint-disable-next-line no-control-regex
  if (onEmpty !== undefined && (!Array.isArray(onEmpty) || onEmpty.length === 0 || onEmpty.some((x) => typeof x !== 'string' || x === '' || /[\u0000-\u001f\u007f]/.test(x)))) {
    fail(`${key('on_empty')} must be a non-empty list of arguments, none empty or with a control character`);
  }
  return { strategy: 'consolidate', consolidate: { ...shared, cooldownMemory, history, ...(onEmpty ? { onEmpty: onEmpty as string[] } : {}) } };
}
