// The network backends' files checked by the tools' own parsers where Debian
// packages them: netplan's YAML by `netplan generate --root-dir` (netplan.io,
// lab/install-packages.sh), and hvmctl's networkd files against the networkd
// files netplan generates from it for the same host. NetworkManager's keyfile
// keys by version. (Debian 12's NetworkManager 1.42 has no offline mode to
// parse a keyfile with; installing it here would take over this machine's
// network.)
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.ts';
import { managedFiles } from '../../src/render/managed-files.ts';
import type { ManagedFile } from '../../src/render/types.ts';
import { networkFiles, nmPortKeys, replacedNetworkFiles, stableUuid, IFUPDOWN_CHECK, NM_KEYFILE_CHECK } from '../../src/render/network-files.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const inv = await loadInventory(path.join(root, 'test/fixtures/inventories/backends.yaml'), { home: '/root' });
const host = (name: string) => inv.hosts.find((h) => h.name === name)!;
const hasNetplan = (() => {
  try {
    execFileSync('netplan', ['--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

type Ini = Record<string, Record<string, string>>;
function parseIni(text: string): Ini {
  const out: Ini = {};
  let section = '';
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    const s = /^\[(.+)\]$/.exec(l);
    if (s) {
      section = s[1] ?? '';
      out[section] ??= {};
      continue;
    }
    const [k = '', ...v] = l.split('=');
    (out[section] ??= {})[k] = v.join('=');
  }
  return out;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** netplan generate on `yaml` in an empty root; the files it wrote, by path relative to the root. */
function netplanGenerate(yaml: string): { code: number; stderr: string; files: Record<string, string> } {
  const r = mkdtempSync(path.join(tmpdir(), 'hvmctl-netplan-'));
  dirs.push(r);
  mkdirSync(path.join(r, 'etc/netplan'), { recursive: true });
  const file = path.join(r, 'etc/netplan/60-hvmctl.yaml');
  writeFileSync(file, yaml);
  chmodSync(file, 0o600);
  let code = 0;
  let stderr = '';
  try {
    execFileSync('netplan', ['generate', '--root-dir', r], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    code = (error as { status?: number }).status ?? 1;
    stderr = String((error as { stderr?: Buffer }).stderr ?? '');
  }
  const files: Record<string, string> = {};
  const net = path.join(r, 'run/systemd/network');
  for (const name of code === 0 ? readdirSync(net) : []) files[name] = readFileSync(path.join(net, name), 'utf8');
  return { code, stderr, files };
}

describe.runIf(hasNetplan)('netplan (netplan generate, netplan.io)', () => {
  const yaml = networkFiles(inv, host('kvmnode1')).find((f) => f.path === '/etc/netplan/60-hvmctl.yaml')!;

  it("netplan's own parser accepts the file, and the file's validate command runs it", () => {
    const r = netplanGenerate(yaml.content);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Object.keys(r.files).sort()).toEqual(['10-netplan-br0.netdev', '10-netplan-br0.network', '10-netplan-eth0.network']);
    const t = mkdtempSync(path.join(tmpdir(), 'hvmctl-validate-'));
    dirs.push(t);
    writeFileSync(path.join(t, 'f'), yaml.content);
    const script = (yaml.validate ?? 'false').replaceAll('{}', JSON.stringify(path.join(t, 'f')));
    expect(() => execFileSync('sh', ['-c', script], { stdio: 'pipe' })).not.toThrow();
  });

  it('a broken file fails the validate command (so apply leaves the old file)', () => {
    const t = mkdtempSync(path.join(tmpdir(), 'hvmctl-validate-'));
    dirs.push(t);
    writeFileSync(path.join(t, 'f'), yaml.content.replace('via: ', 'via4: '));
    const script = (yaml.validate ?? 'false').replaceAll('{}', JSON.stringify(path.join(t, 'f')));
    expect(() => execFileSync('sh', ['-c', script], { stdio: 'pipe' })).toThrow();
  });

  it('the bridge has the address, the default route and the port\'s MAC; the port is bare', () => {
    const { files } = netplanGenerate(yaml.content);
    const netdev = parseIni(files['10-netplan-br0.netdev'] ?? '');
    const bridge = parseIni(files['10-netplan-br0.network'] ?? '');
    const port = parseIni(files['10-netplan-eth0.network'] ?? '');
    expect(netdev).toEqual({ NetDev: { Name: 'br0', MACAddress: '52:54:00:15:03:0a', Kind: 'bridge' }, Bridge: { ForwardDelaySec: '0', STP: 'false' } });
    expect(bridge.Network?.Address).toBe('172.21.3.10/26');
    expect(bridge.Route).toEqual({ Destination: '0.0.0.0/0', Gateway: '172.21.3.1' });
    expect(port.Network).toEqual({ LinkLocalAddressing: 'no', Bridge: 'br0' });
    expect(port.Network?.Address).toBeUndefined();
  });

  it("hvmctl's networkd files say what netplan's own rendering to networkd says, for the same host", () => {
    const asNetworkd = { ...host('kvmnode1'), networkBackend: 'networkd' as const, osFamily: 'debian' as const };
    const ours = Object.fromEntries(networkFiles(inv, asNetworkd).map((f) => [path.basename(f.path), parseIni(f.content)]));
    const { files } = netplanGenerate(yaml.content);
    const theirs = Object.fromEntries(Object.entries(files).map(([name, text]) => [name.replace('netplan', 'hvmctl'), parseIni(text)]));
    expect(ours['10-hvmctl-br0.netdev']).toEqual(theirs['10-hvmctl-br0.netdev']);
    expect(ours['10-hvmctl-br0-port.network']).toEqual(theirs['10-hvmctl-eth0.network']);
    const b = ours['10-hvmctl-br0.network'];
    const t = theirs['10-hvmctl-br0.network'];
    expect(b?.Match).toEqual(t?.Match);
    expect(b?.Network?.Address).toBe(t?.Network?.Address);
    expect(b?.Network?.ConfigureWithoutCarrier).toBe(t?.Network?.ConfigureWithoutCarrier);
    // [Network] Gateway= is networkd's short form of a [Route] to 0.0.0.0/0
    expect(t?.Route?.Destination).toBe('0.0.0.0/0');
    expect(b?.Network?.Gateway).toBe(t?.Route?.Gateway);
  });
});

describe('NetworkManager keyfiles', () => {
  const node2 = host('kvmnode2');
  const files = (major: number, minor: number) => networkFiles(inv, node2, { networkManager: { major, minor } }).map((f) => parseIni(f.content));

  it.each([
    [1, 42, 'master', 'slave-type', 'autoconnect-slaves'],
    [1, 45, 'master', 'slave-type', 'autoconnect-slaves'],
    [1, 46, 'controller', 'port-type', 'autoconnect-ports'],
    [1, 52, 'controller', 'port-type', 'autoconnect-ports'],
    [2, 0, 'controller', 'port-type', 'autoconnect-ports'],
  ])('NetworkManager %i.%i: %s, %s, %s', (major, minor, controller, portType, autoconnect) => {
    const [bridge, port] = files(major, minor);
    expect(port?.connection?.[controller]).toBe(bridge?.connection?.uuid);
    expect(port?.connection?.[portType]).toBe('bridge');
    expect(bridge?.connection?.[autoconnect]).toBe('1');
  });

  it('without the fact (hvmctl render) the current keys; the address on the bridge, the port bare, both 0600', () => {
    expect(nmPortKeys(undefined).controllerKey).toBe('controller');
    const rendered = networkFiles(inv, node2);
    expect(rendered.map((f) => [f.path, f.mode])).toEqual([
      ['/etc/NetworkManager/system-connections/hvmctl-br0.nmconnection', 0o600],
      ['/etc/NetworkManager/system-connections/hvmctl-br0-port.nmconnection', 0o600],
    ]);
    // each checked by NetworkManager's own parser (offline) before it replaces anything
    expect(rendered.map((f) => f.validate)).toEqual([NM_KEYFILE_CHECK, NM_KEYFILE_CHECK]);
    const [bridge, port] = rendered.map((f) => parseIni(f.content));
    expect(bridge?.ipv4).toEqual({ method: 'manual', address1: '172.21.3.11/26', gateway: '172.21.3.1' });
    expect(bridge?.ethernet?.['cloned-mac-address']).toBe('52:54:00:15:03:0b');
    expect(port?.ipv4).toBeUndefined();
    expect(port?.ethernet?.['mac-address']).toBe('52:54:00:15:03:0b');
  });

  it('connection UUIDs are stable per host and name, and well formed', () => {
    expect(stableUuid('a', 'br0')).toBe(stableUuid('a', 'br0'));
    expect(stableUuid('a', 'br0')).not.toBe(stableUuid('b', 'br0'));
    expect(stableUuid('a', 'br0')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('what each backend replaces', () => {
  it("NetworkManager on EL: Anaconda's keyfile and ifcfg file, hvmctl's ifcfg files and every other backend's own files; never /etc/network/interfaces", () => {
    const replaced = replacedNetworkFiles(host('kvmnode2'), 'br0');
    expect(replaced).toEqual(
      expect.arrayContaining([
        '/etc/NetworkManager/system-connections/enp1s0.nmconnection',
        '/etc/sysconfig/network-scripts/ifcfg-enp1s0',
        '/etc/sysconfig/network-scripts/ifcfg-br0',
        '/etc/systemd/network/10-hvmctl-br0.netdev',
        // networkd's drop-in that keeps NetworkManager off the bridge
        '/etc/NetworkManager/conf.d/90-hvmctl-unmanaged.conf',
        // an earlier hvmctl's port keyfile, named after the interface
        '/etc/NetworkManager/system-connections/hvmctl-br0-port-enp1s0.nmconnection',
      ]),
    );
    expect(replaced).not.toContain('/etc/network/interfaces');
    // EL offers no netplan: nothing of it to look for
    expect(replaced).not.toContain('/etc/netplan/60-hvmctl.yaml');
    expect(replaced).not.toContain('/etc/NetworkManager/system-connections/hvmctl-br0.nmconnection');
    expect(replaced).not.toContain('/etc/NetworkManager/system-connections/hvmctl-br0-port.nmconnection');
  });

  it("netplan on Ubuntu: the installer's and cloud-init's netplan files", () => {
    expect(replacedNetworkFiles(host('kvmnode1'), 'br0')).toEqual(expect.arrayContaining(['/etc/netplan/00-installer-config.yaml', '/etc/netplan/50-cloud-init.yaml']));
  });

  it("Debian with networkd: /etc/network/interfaces managed with only lo, NetworkManager's drop-in, the networkd files (the port's named after the bridge)", () => {
    const paths = managedFiles(inv, host('kvmnode3')).filter((f) => f.tags.includes('network'));
    expect(paths.map((f) => f.path)).toEqual([
      '/etc/network/interfaces',
      '/etc/NetworkManager/conf.d/90-hvmctl-unmanaged.conf',
      '/etc/systemd/network/10-hvmctl-br0.netdev',
      '/etc/systemd/network/10-hvmctl-br0.network',
      '/etc/systemd/network/10-hvmctl-br0-port.network',
    ]);
    expect(parseIni(paths[1]?.content ?? '')).toEqual({ keyfile: { 'unmanaged-devices': 'interface-name:br0;interface-name:eth0' } });
    expect(paths[0]?.template).toBe('templates/interfaces-loopback.hbs');
    // ifupdown's own parser checks it, as it checks the bridge's file under ifupdown
    expect(paths[0]?.validate).toBe(IFUPDOWN_CHECK);
    expect(networkFiles(inv, { ...host('kvmnode3'), networkBackend: 'ifupdown' })[0]?.validate).toBe(IFUPDOWN_CHECK);
  });
});

// ifcfg files are shell: network-scripts source them. The schema and the fact parsers allow
// only names and addresses that need no quoting (so the files keep their bytes: the golden
// test), but the render quotes each value itself rather than trust that.
describe('ifcfg files are shell words', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hvmctl-ifcfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const el = { ...host('kvmnode1'), networkBackend: 'ifcfg' as const };
  const ifcfg = (files: ManagedFile[]) => ['templates/ifcfg-interface.hbs', 'templates/ifcfg-bridge.hbs'].map((t) => files.find((f) => f.template === t));
  const sourced = (content: string, names: string[]): string[] => {
    const file = path.join(dir, 'ifcfg');
    writeFileSync(file, content);
    const out = execFileSync('sh', ['-c', `. "$1" && printf '%s\\n' ${names.map((n) => `"$${n}"`).join(' ')}`, 'sh', file], { cwd: dir, encoding: 'utf8' });
    return out.split('\n').slice(0, names.length);
  };

  it('a value the schema allows is written as it is, and reads back', () => {
    const [port, bridge] = ifcfg(networkFiles(inv, el));
    expect(port?.path).toBe(`/etc/sysconfig/network-scripts/ifcfg-${el.interface}`);
    expect(port?.content).toContain(`\nHWADDR=${el.mac}\n`);
    expect(sourced(bridge?.content ?? '', ['DEVICE', 'IPADDR', 'GATEWAY'])).toEqual([inv.cluster.bridge, el.address, inv.cluster.gateway]);
  });

  it("a value with the shell's own characters reads back as itself and runs nothing", () => {
    const odd = "br0 $(touch pwned)`touch pwned2`;'x'";
    const [port, bridge] = ifcfg(networkFiles({ ...inv, cluster: { ...inv.cluster, bridge: odd } }, { ...el, interface: 'en p1' }));
    expect(sourced(port?.content ?? '', ['DEVICE', 'BRIDGE'])).toEqual(['en p1', odd]);
    expect(sourced(bridge?.content ?? '', ['DEVICE', 'TYPE'])).toEqual([odd, 'Bridge']);
    expect(readdirSync(dir).filter((f) => f.startsWith('pwned'))).toEqual([]);
  });
});
