// Bad input gets a clear error, fast, and nothing is read that is not an
// inventory (issue 10): paths apply would act on as root, schema and
// cross-field problems together, alias bombs, FIFOs, devices, huge files.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InventoryError, loadInventory, parseInventory } from '../../src/inventory/load.ts';
import { MAX_INVENTORY_BYTES } from '../../src/inventory/read-text.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string) => path.join(root, 'test/fixtures/inventories', name);
const base = (extra: string) => `cluster: {domain: d, network: 10.0.0.0/24, gateway: 10.0.0.1}
storage: {hosts: {s: {address: 10.0.0.2, mac: "52:54:00:15:03:10"}}}
hypervisors: {hosts: {a: {address: 10.0.0.3, mac: "02:00:00:00:00:03"}}}
${extra}`;

function issues(text: string): string[] {
  try {
    parseInventory(text, 'p.yaml');
  } catch (error) {
    if (error instanceof InventoryError) return error.issues.map((i) => `${i.line}:${i.column} ${i.message}`);
    throw error;
  }
  return [];
}

async function loadError(file: string): Promise<InventoryError> {
  const error = await loadInventory(file, { home: '/root' }).catch((e: unknown) => e);
  if (!(error instanceof InventoryError)) throw new Error(`expected an InventoryError, got ${String(error)}`);
  return error;
}

describe('paths apply acts on as root', () => {
  it.each([
    ['nfs:\n  export: /\n', '5:11 nfs.export: "/" is a system directory; apply would chown and chmod (0755 root:root) and export it'],
    ['nfs:\n  export: /tmp\n', '5:11 nfs.export: "/tmp" is a system directory'],
    ['nfs:\n  export: /var\n', '5:11 nfs.export: "/var" is a system directory'],
    ['nfs:\n  export: /tmp/kvm\n', '5:11 nfs.export: "/tmp/kvm" is under /tmp, which is emptied at boot'],
    ['nfs:\n  export: /proc/x\n', '5:11 nfs.export: "/proc/x" is under /proc'],
    ['nfs:\n  export: /srv/../etc\n', '5:11 nfs.export: "/srv/../etc" has a ".." segment'],
    ['nfs:\n  export: /srv/./kvm\n', '5:11 nfs.export: "/srv/./kvm" has a "." segment'],
    ['nfs:\n  export: /srv//kvm\n', '5:11 nfs.export: "/srv//kvm" has an empty segment'],
    ['nfs:\n  export: /srv/kvm/\n', '5:11 nfs.export: "/srv/kvm/" ends with "/"'],
    ['nfs:\n  mount: /var/lib\n', '5:10 nfs.mount: "/var/lib" is a system directory; apply would mount the NFS export over it'],
    ['pool:\n  path: /etc\n', '5:9 pool.path: "/etc" is a system directory; apply would build the libvirt pool in it'],
    // ganesha's lexer reads a path of letters, digits and ._- only (+ and @ broke its file), as the agent does
    ['nfs:\n  export: /srv/@kvm+x\n', '5:11 nfs.export: "/srv/@kvm+x" is not an absolute path like /srv/kvmshared (letters, digits and ._- only)'],
    // anything under the system's own trees, not only the trees themselves
    ['nfs:\n  export: /root/.ssh\n', '5:11 nfs.export: "/root/.ssh" is under /root, which belongs to the system; apply would chown and chmod (0755 root:root) and export it'],
    ['nfs:\n  export: /etc/ssh\n', '5:11 nfs.export: "/etc/ssh" is under /etc'],
    ['nfs:\n  mount: /var/lib/dpkg/kvm\n', '5:10 nfs.mount: "/var/lib/dpkg/kvm" is under /var/lib/dpkg'],
    ['pool:\n  path: /usr/lib/modules\n', '5:9 pool.path: "/usr/lib/modules" is under /usr'],
    // the lockspace: apply mounts NFS over it on every hypervisor (locks.mount)
    ['nfs:\n  locks: {dir: /etc, mount: true}\n', '5:16 nfs.locks.dir: "/etc" is a system directory; apply would create the lockspace in and mount NFS over it'],
    ['nfs:\n  locks: {dir: /, mount: true}\n', 'nfs.locks.dir: "/" is a system directory'],
    ['nfs:\n  locks: {dir: /var/lib/hvmctl/../../../etc}\n', 'nfs.locks.dir: "/var/lib/hvmctl/../../../etc" has a ".." segment'],
    ['nfs:\n  locks: {dir: /var/lib/hvmctl/lockd/}\n', 'nfs.locks.dir: "/var/lib/hvmctl/lockd/" ends with "/"'],
    ['nfs:\n  locks: {dir: /var/lib/libvirt/images}\n', 'nfs.locks.dir: "/var/lib/libvirt/images" holds nfs.mount (/var/lib/libvirt/images/kvmshared); the lockspace needs a directory of its own'],
    // escapes the mount by `..`: refused for the `..`, whatever follows
    ['pool:\n  path: /var/lib/libvirt/images/kvmshared/../../../../etc\n', '5:9 pool.path: "/var/lib/libvirt/images/kvmshared/../../../../etc" has a ".." segment'],
  ])('%j -> %s', (extra, message) => {
    const found = issues(base(extra));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it('a plain export of its own loads', () => {
    expect(parseInventory(base('nfs:\n  export: /srv/kvmshared\n'), 'p.yaml').nfs.export).toBe('/srv/kvmshared');
  });
});

describe('schema and cross-field problems together', () => {
  it('reports both kinds at once, in file order, skipping only the rules that read a broken value', async () => {
    const error = await loadError(fixture('bad-schema-and-cross.yaml'));
    expect(error.issues.map((i) => `${i.line}:${i.column} ${i.message.split(':')[0]}`)).toEqual([
      '18:16 hypervisors.hosts.kvmnode2.address', // cross: outside the network
      '21:16 hypervisors.hosts.kvmnode3.address', // schema: not an IPv4 address (no cross rule reads it)
      '24:11 nfs.server', // schema
      '25:11 nfs.export', // path rule
      '28:13 balancer.home.hosts[0]', // cross
      '30:10 balancer.home.low', // cross
    ]);
    expect(error.exitCode).toBe(65);
  });
});

describe('what is not an inventory is not read', () => {
  it('an alias bomb: exit 65, the first alias located, no stack', async () => {
    const error = await loadError(fixture('bad-alias-bomb.yaml'));
    expect(error.exitCode).toBe(65);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ line: 8, column: 8 });
    expect(error.issues[0]?.message).toMatch(/^YAML aliases: the document's aliases expand to more than 10,000 nodes/);
    expect(error.hint).toMatch(/nothing was changed on any host/);
  });

  it('one value named by alias a few hundred times (a shared setting per host) is not a bomb', () => {
    const inventory = readFileSync(path.join(root, 'inventory.yaml'), 'utf8');
    // 300 uses of one anchor; the key is unknown, so the schema is what refuses the document
    const text = `${inventory}\nshared: [&nic eth0, ${Array.from({ length: 300 }, () => '*nic').join(', ')}]\n`;
    expect(issues(text)).toEqual([expect.stringMatching(/shared.*unknown/i)]);
  });

  it('an alias with no anchor is said at the alias, not taken for an alias bomb', () => {
    expect(issues(base('nfs:\n  export: &e /srv/x\n  mount: *nope\n'))).toEqual(['6:10 YAML alias *nope: no anchor &nope is defined before it']);
  });

  it('two keys that read the same (1 and "1") are a duplicate, not one host silently dropped', () => {
    const text = base('').replace('hypervisors: {hosts: {a: {address: 10.0.0.3, mac: "02:00:00:00:00:03"}}}', 'hypervisors:\n  hosts:\n    1: {address: 10.0.0.3}\n    "1": {address: 10.0.0.4}');
    expect(issues(text)).toEqual(['6:5 YAML syntax: duplicate key "1": it is already set earlier in the same mapping']);
  });

  it('a FIFO with no writer is refused without being opened for a blocking read', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hvmctl-inv-'));
    const fifo = path.join(dir, 'inventory.yaml');
    execFileSync('mkfifo', [fifo]);
    const error = await loadError(fifo);
    expect(error.issues[0]?.message).toBe('the inventory is a FIFO (named pipe), not a file; nothing was read from it');
  });

  it.each([
    ['/dev/zero', 'a character device'],
    ['/dev/null', 'a character device'],
    [os.tmpdir(), 'a directory'],
  ])('%s is refused: %s', async (file, kind) => {
    const error = await loadError(file);
    expect(error.issues[0]?.message).toBe(`the inventory is ${kind}, not a file; nothing was read from it`);
    expect(error.exitCode).toBe(65);
  });

  it('a file over the size limit is refused before it is parsed', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hvmctl-inv-'));
    const big = path.join(dir, 'big.yaml');
    await writeFile(big, `# ${'x'.repeat(MAX_INVENTORY_BYTES)}\n`);
    const error = await loadError(big);
    expect(error.issues[0]?.message).toBe(`the inventory is ${MAX_INVENTORY_BYTES + 3} bytes; at most ${MAX_INVENTORY_BYTES} are read`);
  });
});

describe("the exporters' ports, opened to the scrapers on the guests' network", () => {
  // libvirtd's TCP port listed, as an operator who runs libvirtd's TCP socket would (the default opens none)
  const inventory = readFileSync(path.join(root, 'inventory.yaml'), 'utf8').replace(/^firewall:\n/m, 'firewall:\n  libvirt_ports: [16509]\n');
  const withPrometheus = (section: string) => inventory.replace(/^balancer:\n/m, `balancer:\n  prometheus: ${section}\n`);
  const found = (section: string): string[] => issues(withPrometheus(section)).map((i) => i.replace(/^\d+:\d+ /, ''));
  it.each([
    ['{scrapers: [172.21.3.50], node_exporter_port: 16509}', "balancer.prometheus.node_exporter_port: 16509 is libvirt's port (firewall.libvirt_ports); the firewall opens the exporters' ports to the scrapers"],
    ['{scrapers: [172.21.3.50], node_exporter_port: 22}', "balancer.prometheus.node_exporter_port: 22 is kvmnode1's sshd port"],
    ['{scrapers: [172.21.3.50], libvirt_exporter_port: 49160}', 'balancer.prometheus.libvirt_exporter_port: 49160 is in the migration range (firewall.migration_ports)'],
    ['{scrapers: [172.21.3.50], libvirt_exporter_port: 9100}', "balancer.prometheus.libvirt_exporter_port: 9100 is node_exporter's port too"],
    ['{scrapers: [172.21.3.50, 172.21.3.50]}', 'balancer.prometheus.scrapers[1]: "172.21.3.50" is listed twice'],
    ['{scrapers: [172.21.3.50], url: "http://x:99999"}', 'balancer.prometheus.url: port 99999 is not a port (1 to 65535)'],
  ])('%s -> %s', (section, message) => {
    const problems = found(section);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });
  it('the default ports load', () => {
    expect(found('{scrapers: [172.21.3.50], url: "http://172.21.3.50:9090"}')).toEqual([]);
  });
});

describe('on_empty, a command run without a shell', () => {
  const inventory = readFileSync(path.join(root, 'inventory.yaml'), 'utf8');
  const found = (argv: string): string[] =>
    issues(inventory.replace(/^ {2}strategy: home.*\n {2}home:[\s\S]*?(?=^ {2}max_migrations)/m, `  strategy: consolidate\n  consolidate: {on_empty: ${argv}}\n`)).map((i) => i.replace(/^\d+:\d+ /, ''));
  it.each([
    ['["/bin/x\\0"]', 'balancer.consolidate.on_empty[0]: "/bin/x\\u0000" is not a command argument without control characters (no newline, tab or NUL)'],
    ['["/bin/x", "a\\nb"]', 'balancer.consolidate.on_empty[1]: "a\\nb" is not a command argument without control characters'],
    ['[""]', 'balancer.consolidate.on_empty[0]: is empty; write a value or leave the key out'],
    ['[]', 'balancer.consolidate.on_empty: needs at least 1 item'],
  ])('%s -> %s', (argv, message) => {
    expect(found(argv)).toEqual([expect.stringContaining(message)]);
  });
  it('a plain command loads', () => {
    expect(found('[/usr/local/sbin/bmc-power, off, "{host}"]')).toEqual([]);
  });
});

describe('names and networks the hosts cannot use', () => {
  const inventory = readFileSync(path.join(root, 'inventory.yaml'), 'utf8');
  const found = (text: string): string[] => issues(text).map((i) => i.replace(/^\d+:\d+ /, ''));
  it.each([
    ['0.0.0.0/0', 'cluster.network: "0.0.0.0/0" spans more than a /8'],
    ['127.21.3.0/26', 'cluster.network: "127.21.3.0/26" is in 127.0.0.0/8, loopback, not a network for hosts'],
    ['224.21.3.0/26', 'is in 224.0.0.0/4, multicast'],
    ['169.254.3.0/26', 'is in 169.254.0.0/16, link-local'],
  ])('cluster.network %s', (cidr, message) => {
    const problems = found(inventory.replace(/^( {2}network:) \S+/m, `$1 ${cidr}`));
    expect(problems[0]).toContain(message);
  });
  it('the bridge is not the loopback', () => {
    expect(found(inventory.replace(/^( {2}bridge:) \S+/m, '$1 lo'))).toEqual([expect.stringMatching(/bridge: "lo" is not an interface name like eth0 or br0 \(at most 15 characters\), not the loopback lo/)]);
  });
  it.each(['localhost', '7', 'ip6-node'])('host name %s', (name) => {
    const problems = found(inventory.replace(/^( {4})kvmnode3:/m, `$1${JSON.stringify(name)}:`));
    expect(problems.some((p) => p.includes(`"${name}" is not a short host name`) && p.includes('not all digits') && p.includes('not localhost'))).toBe(true);
  });
});

describe('a rule broken by a default points at the line that was written', () => {
  it('nfs.mount that does not hold the default pool path: at nfs.mount, saying the pool path is a default', () => {
    expect(issues(base('nfs:\n  client: kernel\n  mount: /srv/images\n'))).toEqual([
      '6:10 nfs.mount: /srv/images does not hold pool.path (not set, so its default "/var/lib/libvirt/images/kvmshared"), so the hypervisors would not share their images: set pool.path to a directory under /srv/images',
    ]);
  });
  it('an NFS port that is the default sshd port: at the port in the list', () => {
    expect(issues(base('firewall:\n  nfs_ports: [111, 22, 2049, 20048]\n'))).toEqual([
      "5:20 firewall.nfs_ports[1]: 22 is s's sshd port (ssh.port, not set, so its default); the firewall would open it for both: choose another port",
    ]);
  });
  it('a written sshd port is still pointed at itself', () => {
    expect(issues(base('ssh:\n  port: 2049\n'))).toEqual(["5:9 ssh.port: s's sshd port 2049 is an NFS port (firewall.nfs_ports); the firewall would open it for both"]);
  });
});

describe('values that load but leave the cluster unusable', () => {
  const inventory = readFileSync(path.join(root, 'inventory.yaml'), 'utf8');
  const found = (text: string): string[] => issues(text).map((i) => i.replace(/^\d+:\d+ /, ''));
  it.each([
    ['nfs_ports: [111]', 'firewall.nfs_ports: lacks 2049 (nfsd) and 20048 (mountd), where the storage node\'s NFS server listens'],
    ['nfs_ports: [111, 2049]', 'firewall.nfs_ports: lacks 20048 (mountd)'],
  ])('%s', (line, message) => {
    expect(found(base(`firewall:\n  ${line}\n`))).toEqual([expect.stringContaining(message)]);
  });
  it.each([
    ['01:00:5e:00:00:01', 'a multicast (or broadcast) address'],
    ['ff:ff:ff:ff:ff:ff', 'a multicast (or broadcast) address'],
    ['00:00:00:00:00:00', 'all zeros'],
  ])('mac %s', (mac, what) => {
    expect(found(base('').replace('"02:00:00:00:00:03"', `"${mac}"`))).toEqual([expect.stringContaining(`hypervisors.hosts.a.mac: "${mac}" is ${what}`)]);
  });
  it.each([['identity', '~'], ['identity', '/'], ['known_hosts', '/root/.ssh/']])('ssh.%s %s', (key, value) => {
    expect(found(base(`ssh:\n  ${key}: "${value}"\n`))).toEqual([expect.stringMatching(new RegExp(`^ssh\\.${key}: .* is a directory; name the file`))]);
  });
  it('home.helpers written empty', () => {
    expect(found(inventory.replace(/^( {4}helpers:) .*$/m, '$1 []'))).toEqual([expect.stringContaining('balancer.home.helpers: is empty, so an overloaded home has nowhere to send a VM')]);
  });
  it('every hypervisor a home', () => {
    const text = inventory.replace(/^( {4}hosts:) \[kvmnode1\].*$/m, '$1 [kvmnode1, kvmnode2, kvmnode3]').replace(/^ {4}helpers:.*\n/m, '');
    expect(found(text)).toEqual([expect.stringContaining('balancer.home.hosts: every hypervisor is a home')]);
  });
  it('every hypervisor drained', () => {
    expect(found(inventory.replace(/^( {2}drained:) \[\].*$/m, '$1 [kvmnode1, kvmnode2, kvmnode3]'))).toEqual([expect.stringContaining('balancer.drained: every hypervisor is drained')]);
  });
  it('a one-hypervisor inventory with no balancer settings still loads (nothing to balance yet)', () => {
    expect(found(base(''))).toEqual([]);
  });
});

describe('messages stay one line and say what they see', () => {
  it('a host name with a newline is quoted in the path', () => {
    const text = base('').replace('{a: {address', '{"a\\nb": {address');
    const problems = issues(text);
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p).not.toContain('\n');
    expect(problems.join(' ')).toContain('hypervisors.hosts."a\\nb"');
  });
  it('a !!binary value is called binary data, not a mapping', () => {
    expect(issues(base('').replace('gateway: 10.0.0.1', 'gateway: !!binary aGVsbG8='))).toEqual([expect.stringContaining('binary data (!!binary)')]);
  });
});
