// `hvmctl render`: write every file apply would manage, for every host, under
// DIR/<host>/<absolute path>, from the inventory alone (no connection).
import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../src/errors.ts';
import { isIpv4 } from '../src/inventory/ipv4.ts';
import { isIpv6 } from '../src/inventory/ipv6.ts';
import { loadInventory } from '../src/inventory/load.ts';
import { managedFiles } from '../src/render/managed-files.ts';
import { listOption, selectHosts } from '../tasks/engine/select.ts';
import type { CliIo } from './io.ts';
import { prepareOutputRoot, writeOutputFile } from './render-output.ts';

export const summary = 'write every managed file for every host into a directory';

export const help = `usage: hvmctl render [-i FILE] -o DIR [--limit HOSTS] [--operator ADDR] [--json]

Writes every file 'hvmctl apply' manages, for every host, under
DIR/<host>/<absolute path>, without connecting anywhere. Files already
there are replaced whole (each is written beside itself and renamed into
place: never half-written); other files in DIR are left alone. Symbolic
links below DIR are never followed: one in the way is an error (exit 73).

Options:
  -i, --inventory FILE  the inventory (default: ./inventory.yaml)
  -o, --output DIR      where to write (created if missing)
  -l, --limit HOSTS     only these hosts: comma-separated host names, FQDNs, or
                        the groups storage, hypervisors (as in apply)
      --operator ADDR   the address apply connects from (IPv4 or IPv6): SSH from
                        it stays open in that family's firewall rules (IPv4:
                        unless it is another host of the cluster)
      --json            print the list of files as JSON
  -h, --help            this help`;

export interface RenderedFile {
  readonly host: string;
  readonly path: string;
  /** Where it was written. */
  readonly file: string;
  readonly mode: string;
  readonly owner: string;
  readonly group: string;
  readonly validate: string | null;
  readonly notify: readonly string[];
  readonly tags: readonly string[];
  readonly template: string;
  readonly sha256: string;
  readonly bytes: number;
}

function shown(cwd: string, target: string): string {
  const relative = path.relative(cwd, target);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : target;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        inventory: { type: 'string', short: 'i' },
        output: { type: 'string', short: 'o' },
        limit: { type: 'string', short: 'l' },
        operator: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(`render: ${error instanceof Error ? error.message : String(error)}`, 'run hvmctl render --help');
  }
  if (values.help) {
    io.out(help);
    return 0;
  }
  if (values.output === undefined) throw new UsageError('render: -o DIR is required', 'e.g. hvmctl render -o rendered/');
  // an empty DIR (an unset $OUT in a script) would scatter the hosts' trees into the current directory
  if (values.output === '') throw new UsageError('render: -o DIR is empty', 'name the directory, e.g. hvmctl render -o rendered/ (render into the current directory with -o .)');
  if (values.operator !== undefined && !isIpv4(values.operator) && !isIpv6(values.operator)) {
    throw new UsageError(`render: --operator '${values.operator}' is not an IPv4 or IPv6 address`, 'e.g. --operator 192.0.2.10 or --operator 2001:db8::10');
  }
  const limit = listOption('--limit', values.limit);
  const inventoryFile = path.resolve(io.cwd, values.inventory ?? 'inventory.yaml');
  const outDir = path.resolve(io.cwd, values.output);
  const inv = await loadInventory(inventoryFile, { home: io.env.HOME });
  const hosts = selectHosts(inv, limit);

  const listing: RenderedFile[] = [];
  await prepareOutputRoot(outDir);
  for (const host of hosts) {
    const files = managedFiles(inv, host, values.operator === undefined ? {} : { operatorAddress: values.operator });
    for (const f of files) {
      const target = await writeOutputFile(outDir, path.join(host.name, f.path), f.content, f.mode);
      listing.push({
        host: host.name,
        path: f.path,
        file: target,
        mode: `0${f.mode.toString(8)}`,
        owner: f.owner,
        group: f.group,
        validate: f.validate ?? null,
        notify: f.notify,
        tags: f.tags,
        template: f.template,
        sha256: createHash('sha256').update(f.content).digest('hex'),
        bytes: Buffer.byteLength(f.content),
      });
    }
    if (!values.json) {
      const paths = files.map((f) => f.path).join(', ');
      io.out(`${host.name}: ${files.length} files -> ${shown(io.cwd, path.join(outDir, host.name))} (${paths})`);
    }
  }
  if (values.json) io.out(JSON.stringify({ inventory: inv.file, output: outDir, files: listing }, null, 2));
  return 0;
}
