// The inventory as written in YAML (snake_case), after the schema check and
// ajv's defaults: what cross-checks.ts and normalize.ts read. Only the loader
// sees this shape; the rest of hvmctl uses types.ts.
import type { NetworkBackend, OsFamily } from './types.ts';

export interface RawHost {
  address: string;
  mac: string;
  interface: string;
  os_family?: OsFamily;
  network?: { backend?: NetworkBackend };
  ssh_host?: string;
  ssh_port?: number;
  sshd_port?: number;
  timeout?: number;
}

export interface RawInventory {
  cluster: { domain: string; network: string; gateway: string; os_family: OsFamily; bridge: string };
  network: { backend?: NetworkBackend };
  ssh: {
    user: string;
    port: number;
    sshd_port?: number;
    identity: string;
    known_hosts: string;
    cluster_key_type: 'ed25519' | 'rsa' | 'ecdsa';
  };
  storage: { hosts: Record<string, RawHost> };
  hypervisors: { hosts: Record<string, RawHost> };
  nfs: { server: 'kernel' | 'ganesha'; client: 'kernel' | 'qemu'; export: string; mount: string; locks: { dir?: string; mount?: boolean } };
  pool: { name: string; path: string };
  firewall: {
    backend: 'auto' | 'firewalld' | 'iptables';
    migration_ports: string;
    libvirt_ports: number[];
    nfs_ports: number[];
  };
  balancer: {
    strategy: 'home' | 'consolidate';
    home: {
      hosts?: string[];
      helpers?: string[];
      high: number;
      overload_window: number;
      low: number;
      calm_window: number;
      cooldown: number;
    };
    consolidate: {
      hosts?: string[];
      high: number;
      overload_window: number;
      low: number;
      calm_window: number;
      cooldown: number;
      cooldown_memory: number;
      history: number;
      on_empty?: string[];
    };
    max_migrations_per_run: number;
    migration_timeout: number;
    sample_seconds: number;
    cpu_source: string;
    prometheus?: {
      url?: string;
      scrapers: string[];
      window: number;
      max_age: number;
      node_exporter_port: number;
      libvirt_exporter_port: number;
    };
    schedule: string;
    pinned: string[];
    drained: string[];
  };
}
