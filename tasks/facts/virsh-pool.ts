// Facts about a libvirt storage pool, through virsh on the host's own
// libvirtd (qemu:///system): its persistent definition and its state.
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import { VIRSH } from '../../src/libvirt-uri.ts';
import { raw, sh } from '../../src/shell.ts';
import type { Fact } from '../engine/types.ts';
import { unexpected } from './result.ts';


/** The parts of a pool definition apply decides on; libvirt adds uuid, capacity, permissions. */
export interface PoolDefinition {
  readonly name: string;
  readonly type: string;
  readonly targetPath: string;
}

export interface PoolInfo {
  /** `running`, `inactive`, `building`, `degraded`, `inaccessible`. */
  readonly state: string;
  readonly persistent: boolean;
  readonly autostart: boolean;
}

const NOT_FOUND = /Storage pool not found/;
const LIBVIRTD_HINT = `is libvirtd running on the host? (\`${VIRSH} version\`)`;

/** `virsh pool-dumpxml --inactive`: the definition libvirt will use on next start; undefined when not defined. */
export function poolXml(name: string): Fact<string | undefined> {
  return {
    key: `pool-xml:${name}`,
    command: sh`${raw(VIRSH)} pool-dumpxml --inactive ${name}`,
    parse: (result: RunResult) => {
      if (result.code !== 0 && NOT_FOUND.test(result.stderr)) return undefined;
      if (result.code !== 0) throw unexpected(`virsh pool-dumpxml ${name}`, result, LIBVIRTD_HINT);
      return result.stdout;
    },
  };
}

export function poolInfo(name: string): Fact<PoolInfo | undefined> {
  return {
    key: `pool-info:${name}`,
    command: sh`${raw(VIRSH)} pool-info ${name}`,
    parse: (result: RunResult) => {
      if (result.code !== 0 && NOT_FOUND.test(result.stderr)) return undefined;
      if (result.code !== 0) throw unexpected(`virsh pool-info ${name}`, result, LIBVIRTD_HINT);
      return parsePoolInfo(result.stdout);
    },
  };
}

export function parsePoolInfo(text: string): PoolInfo {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z ]+):\s*(.*)$/.exec(line);
    if (m) fields.set((m[1] ?? '').trim(), (m[2] ?? '').trim());
  }
  const state = fields.get('State');
  const persistent = fields.get('Persistent');
  const autostart = fields.get('Autostart');
  if (state === undefined || persistent === undefined || autostart === undefined) {
    throw new ParseError('virsh pool-info', `missing State/Persistent/Autostart in ${JSON.stringify(text)}`);
  }
  return { state, persistent: persistent === 'yes', autostart: autostart === 'yes' };
}

/**
 * The name, type and target path of a pool XML (libvirt's own output or our
 * template). A small reader for this fixed shape, not a general XML parser:
 * libvirt prints attributes with single quotes, templates may use double.
 */
export function parsePoolDefinition(xml: string, what = 'pool XML'): PoolDefinition {
  const type = /<pool\b[^>]*\btype=(?:'([^']*)'|"([^"]*)")/.exec(xml);
  const name = /<name>\s*([^<]*?)\s*<\/name>/.exec(xml);
  const target = /<target>[\s\S]*?<path>\s*([^<]*?)\s*<\/path>[\s\S]*?<\/target>/.exec(xml);
  if (!type || !name || !target) {
    throw new ParseError(what, 'expected <pool type=...> with <name> and <target><path>', 'compare it with templates/pool.xml.hbs');
  }
  return {
    type: unescapeXml(type[1] ?? type[2] ?? ''),
    name: unescapeXml(name[1] ?? ''),
    targetPath: unescapeXml(target[1] ?? ''),
  };
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Differences that matter between the defined pool and the wanted one, as readable phrases. */
export function poolDifferences(defined: PoolDefinition, wanted: PoolDefinition): string[] {
  const out: string[] = [];
  if (defined.name !== wanted.name) out.push(`name ${defined.name} -> ${wanted.name}`);
  if (defined.type !== wanted.type) out.push(`type ${defined.type} -> ${wanted.type}`);
  if (defined.targetPath.replace(/\/+$/, '') !== wanted.targetPath.replace(/\/+$/, '')) {
    out.push(`target path ${defined.targetPath} -> ${wanted.targetPath}`);
  }
  return out;
}
