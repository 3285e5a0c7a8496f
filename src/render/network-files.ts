// The network files of each backend: the host's address on the bridge, the
// physical interface its bare port. One Record over NetworkBackend: the
// host's one backend choice (HostSpec.networkBackend) picks these files here
// and the restart in tasks/ops/network-restart.ts.
//   - ifupdown: the whole /etc/network/interfaces;
//   - ifcfg: network-scripts' ifcfg-<port> and ifcfg-<bridge>, as the seed;
//   - networkmanager: keyfiles for the bridge and its port, mode 0600 (NM
//     ignores others). The port names its bridge with the keys the host's
//     NetworkManager reads: `controller`/`port-type` from 1.46, `master`/
//     `slave-type` before (NetworkFacts.networkManager; without that fact,
//     as in `hvmctl render`, the current keys);
//   - netplan: one YAML, mode 0600, networkd as renderer, the default route
//     as `routes: [{to: default, via: ...}]` (gateway4 is deprecated);
//   - networkd: the bridge's .netdev (its MAC pinned to the port's) and a
//     .network for each.
// Where ifupdown reads /etc/network/interfaces at boot (Debian) and another
// backend is chosen, that file is managed with only `lo` in it.
import { createHash } from 'node:crypto';
import type { HostSpec, Inventory, NetworkBackend } from '../inventory/types.ts';
import { osProfile } from '../os/profiles.ts';
import { type TemplateFileSpec, templateFile } from './template-file.ts';
import { quote } from '../shell.ts';
import type { ManagedFile } from './types.ts';

/** ifupdown's configuration, managed whole where ifupdown reads it. */
export const debianInterfacesPath = '/etc/network/interfaces';
export const nmConnectionsDir = '/etc/NetworkManager/system-connections';
export const netplanPath = '/etc/netplan/60-hvmctl.yaml';
export const networkdDir = '/etc/systemd/network';

export interface NmVersion {
  readonly major: number;
  readonly minor: number;
}

/** What the host says that changes a network file's content (gathered by the network task). */
export interface NetworkFacts {
  /** The host's NetworkManager; undefined: not known (render, or not installed yet). */
  readonly networkManager?: NmVersion;
}

/** The first NetworkManager that reads `controller`, `port-type` and `autoconnect-ports`. */
export const NM_PORT_KEYS_SINCE: NmVersion = { major: 1, minor: 46 };

/** Pure: the keyfile keys that tie a port to its bridge, for the host's NetworkManager (the current ones when unknown). */
export function nmPortKeys(version: NmVersion | undefined): { controllerKey: string; portTypeKey: string; autoconnectPortsKey: string } {
  const current = version === undefined || version.major > NM_PORT_KEYS_SINCE.major || (version.major === NM_PORT_KEYS_SINCE.major && version.minor >= NM_PORT_KEYS_SINCE.minor);
  return current
    ? { controllerKey: 'controller', portTypeKey: 'port-type', autoconnectPortsKey: 'autoconnect-ports' }
    : { controllerKey: 'master', portTypeKey: 'slave-type', autoconnectPortsKey: 'autoconnect-slaves' };
}

/** A stable UUID (version 5 layout, SHA-256 based) for a connection: the same host and name always get the same one. */
export function stableUuid(...parts: readonly string[]): string {
  const h = createHash('sha256').update(`hvmctl:${parts.join(':')}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * NetworkManager's own keyfile parser, offline (nmcli --offline, NetworkManager
 * 1.42 and later; Debian 12 has 1.42): it reads the keyfile from stdin and
 * fails on what NetworkManager would refuse to load. An older nmcli does not
 * know the option: the file is then written unchecked, as before.
 */
export const NM_KEYFILE_CHECK = 'if nmcli --offline -h >/dev/null 2>&1; then nmcli --offline connection modify connection.autoconnect yes < {} > /dev/null; fi';

/** ifupdown's own parser: `ifquery` refuses a file it could not bring up (an unknown method, an option without a value). */
export const IFUPDOWN_CHECK = 'if command -v ifquery >/dev/null 2>&1; then ifquery -i {} -l >/dev/null; fi';

type Common = Pick<TemplateFileSpec, 'mode' | 'notify' | 'tags'>;

interface Backend {
  /** The paths of this backend's own files on `host` (what it writes, and what another backend removes). */
  paths(host: HostSpec, bridge: string): readonly string[];
  render(host: HostSpec, inv: Inventory, facts: NetworkFacts, context: Readonly<Record<string, string | number>>): ManagedFile[];
}

const common: Common = { mode: 0o644, notify: ['network-restart'], tags: ['network'] };
const secret: Common = { ...common, mode: 0o600 };

// The port's file is named after the bridge, not the interface: a renamed
// interface then rewrites it rather than leaving the old one enslaving the old
// name beside it (the lab's cut-off test found that).
const nmFiles = (bridge: string) => ({
  bridge: `${nmConnectionsDir}/hvmctl-${bridge}.nmconnection`,
  port: `${nmConnectionsDir}/hvmctl-${bridge}-port.nmconnection`,
});
const networkdFiles = (bridge: string) => ({
  netdev: `${networkdDir}/10-hvmctl-${bridge}.netdev`,
  bridge: `${networkdDir}/10-hvmctl-${bridge}.network`,
  port: `${networkdDir}/10-hvmctl-${bridge}-port.network`,
});
/** Keeps an installed NetworkManager off the bridge and its port where another backend has them. */
export const nmUnmanagedPath = '/etc/NetworkManager/conf.d/90-hvmctl-unmanaged.conf';
const nmUnmanaged = (context: Readonly<Record<string, string | number>>): ManagedFile =>
  templateFile({ ...common, path: nmUnmanagedPath, template: 'nm-unmanaged.conf.hbs', context });

/** Files earlier versions of hvmctl wrote, which a current backend's files replace. */
const legacyFiles = (host: HostSpec, bridge: string): string[] => [
  `/etc/network/interfaces.d/hvmctl-${bridge}`,
  `${nmConnectionsDir}/hvmctl-${bridge}-port-${host.interface}.nmconnection`,
  `${networkdDir}/10-hvmctl-${host.interface}.network`,
];
const ifcfgDir = '/etc/sysconfig/network-scripts';

/**
 * Where a network file apply writes carries the bridge's or the port's name:
 * what tasks/facts/own-network-files.ts searches for the ones it wrote and no
 * longer writes (a bridge or port renamed in the inventory). Shell globs, no
 * character that needs quoting.
 */
export const ownNetworkFileGlobs: readonly string[] = [
  `${nmConnectionsDir}/hvmctl-*.nmconnection`,
  `${networkdDir}/10-hvmctl-*.netdev`,
  `${networkdDir}/10-hvmctl-*.network`,
  '/etc/network/interfaces.d/hvmctl-*',
  `${ifcfgDir}/ifcfg-*`,
];

export const networkBackends: Readonly<Record<NetworkBackend, Backend>> = {
  // the whole /etc/network/interfaces (why: templates/interfaces-bridge.hbs)
  ifupdown: {
    paths: () => [debianInterfacesPath],
    render: (_host, _inv, _facts, context) => [templateFile({ ...common, path: debianInterfacesPath, template: 'interfaces-bridge.hbs', context, validate: IFUPDOWN_CHECK })],
  },
  // ifcfg files are shell (network-scripts source them; NetworkManager's ifcfg-rh reads them
  // as shell words): every value is a quoted word, which for the names and addresses the schema
  // and the fact parsers allow is the value itself, byte for byte.
  ifcfg: {
    paths: (host, bridge) => [`${ifcfgDir}/ifcfg-${host.interface}`, `${ifcfgDir}/ifcfg-${bridge}`],
    render: (host, inv, _facts, context) => {
      const words = Object.fromEntries(Object.entries(context).map(([k, v]) => [k, quote(v)]));
      return [
        templateFile({ ...common, path: `${ifcfgDir}/ifcfg-${host.interface}`, template: 'ifcfg-interface.hbs', context: words }),
        templateFile({ ...common, path: `${ifcfgDir}/ifcfg-${inv.cluster.bridge}`, template: 'ifcfg-bridge.hbs', context: words }),
      ];
    },
  },
  networkmanager: {
    paths: (_host, bridge) => Object.values(nmFiles(bridge)),
    render: (host, inv, facts, context) => {
      const files = nmFiles(inv.cluster.bridge);
      const nm = {
        ...context,
        ...nmPortKeys(facts.networkManager),
        bridgeUuid: stableUuid(host.fqdn, inv.cluster.bridge),
        portUuid: stableUuid(host.fqdn, inv.cluster.bridge, host.interface),
        bridgeFile: files.bridge,
        portFile: files.port,
      };
      return [
        templateFile({ ...secret, path: files.bridge, template: 'nm-bridge.nmconnection.hbs', context: nm, validate: NM_KEYFILE_CHECK }),
        templateFile({ ...secret, path: files.port, template: 'nm-port.nmconnection.hbs', context: nm, validate: NM_KEYFILE_CHECK }),
      ];
    },
  },
  netplan: {
    paths: () => [netplanPath, nmUnmanagedPath],
    render: (_host, _inv, _facts, context) => [
      nmUnmanaged(context),
      templateFile({
        ...secret,
        path: netplanPath,
        // netplan's own parser, on a copy in an empty root: the live configuration is not touched
        validate: 'r=$(mktemp -d) && mkdir -p "$r/etc/netplan" && cp {} "$r/etc/netplan/60-hvmctl.yaml" && chmod 600 "$r/etc/netplan/60-hvmctl.yaml" && netplan generate --root-dir "$r"; rc=$?; rm -rf "$r"; exit $rc',
        template: 'netplan-bridge.yaml.hbs',
        context,
      }),
    ],
  },
  networkd: {
    paths: (_host, bridge) => [...Object.values(networkdFiles(bridge)), nmUnmanagedPath],
    render: (_host, inv, _facts, context) => {
      const files = networkdFiles(inv.cluster.bridge);
      return [
        nmUnmanaged(context),
        templateFile({ ...common, path: files.netdev, template: 'networkd-bridge.netdev.hbs', context }),
        templateFile({ ...common, path: files.bridge, template: 'networkd-bridge.network.hbs', context }),
        templateFile({ ...common, path: files.port, template: 'networkd-port.network.hbs', context }),
      ];
    },
  },
};

/** Every network file apply manages on `host`: its backend's, and a loopback-only /etc/network/interfaces where ifupdown would still read one. */
export function networkFiles(inv: Inventory, host: HostSpec, facts: NetworkFacts = {}): ManagedFile[] {
  const c = inv.cluster;
  const context = {
    bridge: c.bridge,
    interface: host.interface,
    mac: host.mac,
    address: host.address,
    prefix: c.prefix,
    netmask: c.netmask,
    broadcast: c.broadcast,
    networkAddress: c.networkAddress,
    gateway: c.gateway,
    network: c.network,
    backend: host.networkBackend,
  };
  const files = networkBackends[host.networkBackend].render(host, inv, facts, context);
  if (host.networkBackend !== 'ifupdown' && osProfile(host).network.ifupdownLoopback) {
    files.unshift(templateFile({ ...common, path: debianInterfacesPath, template: 'interfaces-loopback.hbs', context, validate: IFUPDOWN_CHECK }));
  }
  return files;
}

/**
 * Files apply removes on `host`: every other backend's own files (a host that
 * changed backends) and what earlier versions wrote; for a backend other than
 * ifupdown and ifcfg, also what the family's installer configured the port
 * with. Never /etc/network/interfaces (managed whole, or loopback-only).
 */
export function replacedNetworkFiles(host: HostSpec, bridge: string): string[] {
  const own = new Set(networkBackends[host.networkBackend].paths(host, bridge));
  const profile = osProfile(host).network;
  // the backends this family offers: no other could have written files here
  const offered = (Object.keys(networkBackends) as NetworkBackend[]).filter((b) => profile.packages[b] !== null);
  const others = offered.filter((b) => b !== host.networkBackend).flatMap((b) => networkBackends[b].paths(host, bridge));
  const installer = host.networkBackend === 'ifupdown' || host.networkBackend === 'ifcfg' ? [] : profile.installerFiles(host.interface);
  const paths = [...installer, ...legacyFiles(host, bridge), ...others];
  return [...new Set(paths)].filter((p) => p !== debianInterfacesPath && !own.has(p));
}
