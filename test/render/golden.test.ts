// Every file rendered for every host, from the default inventory, from the
// seed's cluster (redhat, kernel NFS, ifcfg) and from one host per other
// network backend (backends.yaml: netplan, NetworkManager, networkd), compared byte for byte with the files
// under test/golden/<inventory>/<host>/<path>, which a person has read against
// SPEC.md. The managed-file attributes (mode, owner, validate, notify, tags)
// are golden too: test/golden/<inventory>/<host>.json.
// UPDATE_GOLDEN=1 npx vitest run test/render/golden.test.ts regenerates them.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.ts';
import { managedFiles } from '../../src/render/managed-files.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const goldenRoot = path.join(root, 'test/golden');
const update = process.env.UPDATE_GOLDEN === '1';

const inventories = {
  default: path.join(root, 'inventory.yaml'),
  'seed-redhat': path.join(root, 'test/fixtures/inventories/seed-redhat.yaml'),
  backends: path.join(root, 'test/fixtures/inventories/backends.yaml'),
};

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}

describe.each(Object.entries(inventories))('golden files for %s', async (name, file) => {
  const inv = await loadInventory(file, { home: '/root' });
  const dir = path.join(goldenRoot, name);
  if (update) rmSync(dir, { recursive: true, force: true });

  it.each(inv.hosts.map((h) => [h.name, h] as const))('%s', (_, host) => {
    const files = managedFiles(inv, host);
    const hostDir = path.join(dir, host.name);
    const meta = files.map((f) => ({
      path: f.path,
      mode: `0${f.mode.toString(8)}`,
      owner: f.owner,
      group: f.group,
      validate: f.validate ?? null,
      notify: f.notify,
      tags: f.tags,
      sensitive: f.sensitive ?? false,
      template: f.template,
      bytes: Buffer.byteLength(f.content),
    }));
    const metaFile = path.join(dir, `${host.name}.json`);
    if (update) {
      for (const f of files) {
        mkdirSync(path.dirname(path.join(hostDir, f.path)), { recursive: true });
        writeFileSync(path.join(hostDir, f.path), f.content);
      }
      writeFileSync(metaFile, `${JSON.stringify(meta, null, 2)}\n`);
    }
    // No file missing, none left over from an older template set.
    expect(files.map((f) => f.path.slice(1)).sort()).toEqual(listFiles(hostDir));
    for (const f of files) {
      expect(f.content, `${host.name}:${f.path}`).toBe(readFileSync(path.join(hostDir, f.path), 'utf8'));
    }
    expect(meta).toEqual(JSON.parse(readFileSync(metaFile, 'utf8')));
  });

  it('renders byte-identical twice (no timestamps, stable order)', () => {
    for (const host of inv.hosts) {
      expect(managedFiles(inv, host)).toEqual(managedFiles(inv, host));
    }
  });
});
