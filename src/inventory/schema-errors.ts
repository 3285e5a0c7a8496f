// Turns ajv's errors into sentences a person can act on, each pointing at the
// YAML node it is about. Pure: (ajv errors, data) -> located messages.
import type { ErrorObject } from 'ajv';
import type { DataPath } from './yaml-position.ts';
import schema from './schema.json' with { type: 'json' };
import { dottedPath } from './yaml-position.ts';

export interface SchemaProblem {
  readonly path: DataPath;
  /** Point at the key (unknown property, bad host name) or the value. */
  readonly at: 'key' | 'value';
  readonly message: string;
}

/** What each shared definition expects, for pattern errors. */
const expected: Record<string, string> = {
  ipv4: 'an IPv4 address like 172.21.3.10',
  cidr: 'a network in CIDR notation like 172.21.3.0/26',
  mac: 'a MAC address like "52:54:00:15:03:0a" (six hex pairs separated by ":", quoted in YAML)',
  hostname: "a short host name: lowercase letters, digits and '-', no dots (the domain comes from cluster.domain), not all digits (it would read as an address), not localhost* or ip6-* (/etc/hosts has them)",
  domain: 'a DNS domain like localdomain or example.org',
  sshHost: 'a host name or IPv4 address',
  interface: 'an interface name like eth0 or br0 (at most 15 characters), not the loopback lo',
  absPath: 'an absolute path like /srv/kvmshared (letters, digits and ._- only)',
  homePath: 'an absolute path or one starting with ~/ (letters, digits and ._+@- only)',
  cronSchedule: 'a cron schedule: five fields like "* * * * *" (minute hour day-of-month month day-of-week, one space or tab between them) or an @keyword like @daily',
  portRange: 'a port range like 49152-49215',
  name: "a plain name (letters, digits and ._+-), like server1",
  argument: 'a command argument without control characters (no newline, tab or NUL)',
};

/** Keys that moved when the balancer got named strategies (issue 12): where they live now. */
const moved: Record<string, string> = {
  'balancer.helpers': 'balancer.home.helpers',
  'balancer.high': 'balancer.home.high (or balancer.consolidate.high)',
  'balancer.low': 'balancer.home.low (or balancer.consolidate.low)',
  'balancer.overload_window': 'balancer.home.overload_window (or balancer.consolidate.overload_window)',
  'balancer.calm_window': 'balancer.home.calm_window (or balancer.consolidate.calm_window)',
  'balancer.cooldown': 'balancer.home.cooldown (or balancer.consolidate.cooldown)',
};

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (the value is empty)';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data (!!binary)';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function typeName(type: unknown): string {
  const names: Record<string, string> = {
    object: 'a mapping (key: value lines)',
    array: 'a list',
    string: 'a string',
    integer: 'a whole number',
    number: 'a number',
    boolean: 'true or false',
  };
  return Array.isArray(type) ? type.map(typeName).join(' or ') : (names[String(type)] ?? String(type));
}

/** ajv's `/a/b/0` -> ['a', 'b', 0], numbers where the data is a list. */
export function splitPointer(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const index = Number(segment);
      out.push(index);
      node = node[index];
    } else {
      out.push(segment);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return out;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** Pattern -> what it means, from the schema's shared definitions (ajv inlines them, so match by pattern). */
const byPattern = new Map<string, string>(
  Object.entries(schema.definitions as Record<string, { pattern?: string }>).flatMap(([name, def]) =>
    def.pattern !== undefined && expected[name] !== undefined ? [[def.pattern, expected[name]] as [string, string]] : [],
  ),
);

function patternExpectation(error: ErrorObject): string {
  const known = byPattern.get(String(error.params.pattern));
  if (known) return known;
  const description = (error.parentSchema as { description?: string } | undefined)?.description;
  return description ? `valid here: ${description}` : `a string matching ${String(error.params.pattern)}`;
}

/**
 * The data paths whose values did not pass the schema: the value an error is
 * about, or for a missing property that property. Cross-field rules skip
 * every value at or below one of them.
 */
export function brokenPaths(errors: readonly ErrorObject[], data: unknown): DataPath[] {
  return errors.flatMap((error): DataPath[] => {
    const path = splitPointer(error.instancePath, data);
    switch (error.keyword) {
      case 'required':
        return [[...path, String(error.params.missingProperty)]];
      case 'additionalProperties':
        return [[...path, String(error.params.additionalProperty)]];
      case 'propertyNames':
      case 'pattern':
        return error.propertyName !== undefined ? [[...path, error.propertyName]] : [path];
      default:
        return [path];
    }
  });
}

export function schemaProblems(errors: readonly ErrorObject[], data: unknown): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  for (const error of errors) {
    const path = splitPointer(error.instancePath, data);
    const where = dottedPath(path) || '(top level)';
    const value: unknown = error.data;
    switch (error.keyword) {
      case 'required': {
        const missing = String(error.params.missingProperty);
        problems.push({ path, at: 'key', message: `${where}: missing required property "${missing}"` });
        break;
      }
      case 'additionalProperties': {
        const extra = String(error.params.additionalProperty);
        const allowed = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
        const guess = closest(extra, allowed);
        const now = moved[dottedPath([...path, extra])];
        const tail = now ? `; it is now ${now}` : guess ? `; did you mean "${guess}"?` : allowed.length ? `; expected one of ${allowed.join(', ')}` : '';
        problems.push({
          path: [...path, extra],
          at: 'key',
          message: `${dottedPath([...path, extra])}: unknown property "${extra}"${tail}`,
        });
        break;
      }
      case 'propertyNames':
        // Reported by the nested `pattern` error on the name, below.
        break;
      case 'pattern': {
        if (error.propertyName !== undefined) {
          const name = error.propertyName;
          problems.push({
            path: [...path, name],
            at: 'key',
            message: `${dottedPath([...path, name])}: ${JSON.stringify(name)} is not ${patternExpectation(error)}`,
          });
        } else {
          problems.push({ path, at: 'value', message: `${where}: ${describeValue(value)} is not ${patternExpectation(error)}` });
        }
        break;
      }
      case 'type':
        problems.push({
          path,
          at: 'value',
          message:
            `${where}: expected ${typeName(error.params.type)}, got ${describeValue(value)}` +
            (where === 'balancer.home' && Array.isArray(value) ? '; the home hosts are now balancer.home.hosts (balancer.home holds the home strategy\'s settings)' : ''),
        });
        break;
      case 'enum': {
        const allowed = (error.params.allowedValues as unknown[]).map(String).join(', ');
        problems.push({ path, at: 'value', message: `${where}: ${describeValue(value)} is not one of ${allowed}${enumHint(where, value)}` });
        break;
      }
      case 'minimum':
      case 'maximum': {
        const bound = error.keyword === 'minimum' ? 'at least' : 'at most';
        problems.push({ path, at: 'value', message: `${where}: ${describeValue(value)} must be ${bound} ${String(error.params.limit)}` });
        break;
      }
      case 'minProperties':
        problems.push({
          path,
          at: 'key',
          message: `${where}: is empty; at least ${String(error.params.limit)} host is required`,
        });
        break;
      case 'maxProperties':
        problems.push({
          path,
          at: 'key',
          message: `${where}: has ${Object.keys(value as object).length} hosts; exactly ${String(error.params.limit)} is supported (every hypervisor mounts the same export)`,
        });
        break;
      case 'uniqueItems':
        problems.push({
          path: [...path, Number(error.params.i)],
          at: 'value',
          message: `${dottedPath([...path, Number(error.params.i)])}: ${describeValue((value as unknown[])[Number(error.params.i)])} is listed twice`,
        });
        break;
      case 'minLength':
      case 'maxLength': {
        const limit = Number(error.params.limit);
        const message =
          error.keyword === 'minLength'
            ? limit === 1
              ? 'is empty; write a value or leave the key out'
              : `is shorter than ${limit} characters`
            : `is longer than ${limit} characters`;
        problems.push({ path, at: 'value', message: `${where}: ${message}` });
        break;
      }
      case 'minItems':
      case 'maxItems': {
        const limit = Number(error.params.limit);
        const message = error.keyword === 'minItems' ? `needs at least ${limit} item${limit === 1 ? '' : 's'}` : `holds more than ${limit} items`;
        problems.push({ path, at: 'value', message: `${where}: ${message}` });
        break;
      }
      default:
        problems.push({ path, at: 'value', message: `${where}: ${error.message ?? error.keyword}` });
    }
  }
  return problems;
}

/** What to do instead, for a value hvmctl once accepted and never could apply. */
function enumHint(where: string, value: unknown): string {
  if (where === 'firewall.backend' && value === 'nftables') {
    return ' (apply writes iptables rules; on an nftables host iptables-nft loads them into nftables: set iptables, or auto)';
  }
  return '';
}
