import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedInventory } from '../../bench/inventory-gen.ts';
import { parseInventory } from '../../src/inventory/load.ts';
import { hypervisors, storageHosts } from '../../src/inventory/types.ts';

const base = readFileSync(new URL('../../inventory.yaml', import.meta.url), 'utf8');

describe('bench inventory of N hosts', () => {
  it.each([4, 25, 100, 120])('%i hosts: one storage node, the rest hypervisors, a valid inventory', (n) => {
    const inv = parseInventory(generatedInventory(base, n), `gen-${n}.yaml`);
    expect(inv.hosts).toHaveLength(n);
    expect(storageHosts(inv)).toHaveLength(1);
    expect(hypervisors(inv)).toHaveLength(n - 1);
    expect(new Set(inv.hosts.map((h) => h.address)).size).toBe(n);
    expect(new Set(inv.hosts.map((h) => h.mac)).size).toBe(n);
    expect(inv.balancer).toMatchObject({ strategy: 'home', home: { hosts: ['benchnode001'], helpers: ['benchnode002'] } });
  });
  it('refuses sizes the /25 cannot hold', () => {
    expect(() => generatedInventory(base, 121)).toThrow(RangeError);
    expect(() => generatedInventory(base, 2)).toThrow(RangeError);
  });
});
