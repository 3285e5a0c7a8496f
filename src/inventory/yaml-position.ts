// Maps a path into the parsed data (from an ajv instancePath or a cross-field
// check) back to the YAML node it came from, so every inventory error names a
// line and column. The only place that knows the `yaml` package's node types.
import type { Document, LineCounter, Node } from 'yaml';
import { isMap, isNode, isScalar, isSeq } from 'yaml';

export type DataPath = readonly (string | number)[];

export interface Located {
  /** The node at the path, when the path exists in the file (not a default). */
  readonly value: Node | undefined;
  /** The key node of the last map entry on the path that exists. */
  readonly key: Node | undefined;
  /** How many segments of the path exist in the file. */
  readonly depth: number;
}

export function locate(doc: Document, path: DataPath): Located {
  let node: unknown = doc.contents;
  let key: Node | undefined;
  let depth = 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      key = isNode(pair.key) ? pair.key : key;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      node = item;
    } else {
      break;
    }
    depth++;
  }
  const reached = depth === path.length && isNode(node) ? node : undefined;
  return { value: reached, key, depth };
}

export interface Position {
  readonly line: number;
  readonly column: number;
}

export function positionOf(node: Node | undefined, lines: LineCounter): Position | undefined {
  const offset = node?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

/**
 * Where to point for a problem with the value at `path`: the value itself
 * (`at: 'value'`), or its key (`at: 'key'`: unknown property, bad name, or
 * an empty value). Falls back to the nearest enclosing node in the file.
 */
export function pointAt(doc: Document, lines: LineCounter, path: DataPath, at: 'value' | 'key' = 'value'): Position {
  const found = locate(doc, path);
  const complete = found.depth === path.length;
  const emptyValue = found.value === undefined || (isScalar(found.value) && found.value.value === null);
  const node = complete && at === 'value' && !emptyValue ? found.value : found.key;
  return positionOf(node, lines) ?? positionOf(doc.contents ?? undefined, lines) ?? { line: 1, column: 1 };
}

/** `hypervisors.hosts.kvmnode2.address`, `firewall.nfs_ports[1]`. */
export function dottedPath(path: DataPath): string {
  // a key with a newline, a quote or a blank is quoted, so the message stays one `file:line:col:` line
  const key = (s: string): string => (/^[A-Za-z0-9_.+@-]*$/.test(s) ? s : JSON.stringify(s));
  return path.reduce<string>((out, s) => (typeof s === 'number' ? `${out}[${s}]` : out ? `${out}.${key(s)}` : key(s)), '');
}
