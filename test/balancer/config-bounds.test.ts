// What the inventory's schema accepts for the balancer, the agent must read: an
// inventory that loads and renders, then fails every run on the hypervisor, is
// the worst kind of error (found late, far from the file). Each numeric setting
// at its schema minimum and maximum, and the odd strings the schema allows, are
// rendered as apply renders them (src/render/balancer-config.ts) and read as the
// agent reads them (balancer/config.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../balancer/config.ts';
import { parseInventory } from '../../src/inventory/load.ts';
import { balancerConfig } from '../../src/render/balancer-config.ts';
import schema from '../../src/inventory/schema.json' with { type: 'json' };

const root = fileURLToPath(new URL('../../', import.meta.url));
const inventory = readFileSync(path.join(root, 'inventory.yaml'), 'utf8');

interface NumberSchema {
  type?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, NumberSchema>;
}

/** [dotted path under balancer, minimum, maximum] of every numeric balancer setting. */
function numericSettings(): [string, number, number][] {
  const out: [string, number, number][] = [];
  const walk = (node: NumberSchema, at: string[]) => {
    if ((node.type === 'integer' || node.type === 'number') && node.minimum !== undefined) {
      expect(node.maximum, `${at.join('.')} has a maximum in the schema`).toBeDefined();
      out.push([at.join('.'), node.minimum, node.maximum!]);
    }
    for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, [...at, k]);
  };
  walk((schema as unknown as { properties: { balancer: NumberSchema } }).properties.balancer, []);
  return out;
}

/** The inventory with `balancer.<setting>` set: the example's own line replaced (home and the
 * top-level settings), or a section of its own (consolidate, prometheus). */
function withSetting(dotted: string, value: number | string): string {
  const [head, key] = dotted.split('.') as [string, string | undefined];
  const yaml = JSON.stringify(value);
  if (head === 'consolidate') {
    return inventory.replace(/^ {2}strategy: home.*\n {2}home:[\s\S]*?(?=^ {2}max_migrations)/m, `  strategy: consolidate\n  consolidate:\n    ${key}: ${yaml}\n`);
  }
  if (head === 'prometheus') return inventory.replace(/^balancer:\n/m, `balancer:\n  prometheus: {scrapers: [172.21.3.50], url: "http://172.21.3.50:9090", ${key}: ${yaml}}\n`);
  // home's keys are indented twice, the balancer's own once; the example sets each of them
  const line = key === undefined ? new RegExp(`^ {2}${head}: .*$`, 'm') : new RegExp(`^ {4}${key}: .*$`, 'm');
  expect(inventory, `the example inventory sets ${dotted}`).toMatch(line);
  return inventory.replace(line, key === undefined ? `  ${head}: ${yaml}` : `    ${key}: ${yaml}`);
}

function renderedAndRead(text: string) {
  const inv = parseInventory(text, 'inventory.yaml', { home: '/root' });
  const file = JSON.parse(JSON.stringify(balancerConfig(inv))) as unknown;
  return parseAgentConfig(file, '/etc/hvmctl/balancer.json', 'kvmnode1');
}

describe('every balancer value the inventory accepts, the agent reads', () => {
  const settings = numericSettings();
  it('finds the settings (the walk is not empty)', () => {
    expect(settings.map(([p]) => p)).toEqual(expect.arrayContaining(['home.overload_window', 'consolidate.cooldown', 'migration_timeout', 'prometheus.window']));
  });
  it.each(settings.flatMap(([p, min, max]) => [[p, min], [p, max]] as [string, number][]))('%s = %d', (dotted, value) => {
    const text = withSetting(dotted, value);
    // the value reached the inventory (a broken substitution would test nothing)
    expect(text).toMatch(new RegExp(`${dotted.split('.').pop()}: ${value}\\b`));
    expect(() => renderedAndRead(text)).not.toThrow();
  });
  it.each([
    ['cpu_source', 'cgroup:/sys/fs/cgroup/cpuacct/machine.slice'],
    ['cpu_source', 'prometheus'],
  ])('%s = %s', (dotted, value) => {
    const text = dotted === 'cpu_source' && value === 'prometheus'
      ? withSetting('cpu_source', value).replace(/^balancer:\n/m, 'balancer:\n  prometheus: {scrapers: [172.21.3.50], url: "http://172.21.3.50:9090"}\n')
      : withSetting(dotted, value);
    expect(renderedAndRead(text).balancer.cpuSource).toBe(value);
  });
});
