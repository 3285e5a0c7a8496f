// Contract: the config apply renders is what the balancer agent reads.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../balancer/config.ts';
import { loadInventory } from '../../src/inventory/load.ts';
import { hostByName } from '../../src/inventory/types.ts';
import { balancerConfig } from '../../src/render/balancer-config.ts';
import { balancerPaths, managedFiles } from '../../src/render/managed-files.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const inv = await loadInventory(path.join(root, 'inventory.yaml'), { home: '/root' });

describe('balancer.json', () => {
  it('is read back by the agent with the inventory values and the install paths', () => {
    const home = hostByName(inv, 'kvmnode1');
    if (!home) throw new Error('kvmnode1');
    const file = managedFiles(inv, home).find((f) => f.path === balancerPaths.config);
    const agent = parseAgentConfig(JSON.parse(file?.content ?? 'null'), balancerPaths.config, 'kvmnode1');
    expect(agent.self).toBe('kvmnode1');
    expect(agent.balancer).toEqual(inv.balancer);
    expect(agent.hosts.map((h) => h.fqdn)).toEqual(inv.hosts.map((h) => h.fqdn));
    expect(agent.paths).toMatchObject({ log: balancerPaths.log, lock: balancerPaths.lock, jsonl: balancerPaths.jsonl });
    // What every home's agent must see alike lives on the storage they share (the lockspace's directory).
    expect(agent.paths).toMatchObject({ state: '/var/lib/hvmctl/lockd/balancer/state.json', drains: '/var/lib/hvmctl/lockd/balancer/drains.json', leader: '/var/lib/hvmctl/lockd/balancer/leader.lock' });
    expect(agent.libvirtUri).toBe(balancerConfig(inv).libvirtUri);
  });
});
