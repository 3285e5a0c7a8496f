// The inventory loader: the one adapter for `yaml` and `ajv`. Reads the file
// (read-text.ts: a regular file of bounded size only), reports YAML syntax
// errors, duplicate keys and aliases that expand too far, checks the JSON
// Schema (schema.json) and the cross-field rules, and maps every problem back
// to the line and column of its YAML node. All problems come out at once, in
// one InventoryError (cross-field rules too, wherever the values they read
// passed the schema); nothing else in hvmctl sees unchecked data.
import os from 'node:os';
import path from 'node:path';
import { isAlias, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import type { Document } from 'yaml';
import { crossCheck } from './cross-checks.ts';
import type { InventoryIssue } from './inventory-error.ts';
import { InventoryError } from './inventory-error.ts';
import { normalize } from './normalize.ts';
import type { RawInventory } from './raw.ts';
import type { SchemaProblem } from './schema-errors.ts';
import { brokenPaths, schemaProblems } from './schema-errors.ts';
import { readInventoryText } from './read-text.ts';
import schema from './schema.json' with { type: 'json' };
import type { Inventory } from './types.ts';
import { inventoryValidator } from './validator.ts';
import { type DataPath, pointAt, positionOf } from './yaml-position.ts';

export interface LoadOptions {
  /** Home directory for `~` in paths (default: os.homedir()). */
  readonly home?: string;
}

export { InventoryError } from './inventory-error.ts';
export type { InventoryIssue } from './inventory-error.ts';
export { schema as inventorySchema };

/** How `file` is named in messages: relative to the working directory when inside it. */
function displayName(file: string): string {
  const relative = path.relative(process.cwd(), path.resolve(file));
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

export async function loadInventory(file: string, opts: LoadOptions = {}): Promise<Inventory> {
  const read = await readInventoryText(file);
  if ('problem' in read) {
    throw new InventoryError([{ file: displayName(file), line: 1, column: 1, message: read.problem }], { hint: read.hint, cause: read.cause });
  }
  return parseInventory(read.text, file, opts);
}

/** Nodes one document's aliases may expand to, in all: a few hundred hosts may each name a shared
 * value by alias (`interface: *nic`), while a "billion laughs" passes this at its fourth level.
 * (The yaml package's own default, 100, refused an inventory of 101 hosts doing so.) */
const MAX_ALIAS_COUNT = 10_000;

/** The document as plain data, or the located problem when its aliases expand too far (a "billion laughs"). */
function toData(doc: Document, lines: LineCounter, name: string): unknown {
  // an alias whose anchor is not defined before it: said at the alias, not taken for an expansion
  let unknown: { anchor: string; line: number; column: number } | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (!isAlias(node) || node.resolve(doc) !== undefined) return undefined;
      const at = positionOf(node, lines);
      unknown = { anchor: node.source, line: at?.line ?? 1, column: at?.column ?? 1 };
      return visit.BREAK;
    },
  });
  if (unknown) {
    const { anchor, line, column } = unknown;
    throw new InventoryError([{ file: name, line, column, message: `YAML alias *${anchor}: no anchor &${anchor} is defined before it` }], {
      hint: `define &${anchor} on a value above it, or write the value out; nothing was changed on any host`,
    });
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    let first: { line: number; column: number } | undefined;
    visit(doc, {
      Alias(_key, node) {
        first ??= isAlias(node) ? positionOf(node, lines) : undefined;
        return first ? visit.BREAK : undefined;
      },
    });
    const at = first ?? { line: 1, column: 1 };
    throw new InventoryError(
      [{ file: name, ...at, message: `YAML aliases: the document's aliases expand to more than ${MAX_ALIAS_COUNT.toLocaleString('en')} nodes (${error.message}); the first alias is here` }],
      { hint: 'write the values out instead of nesting aliases (*name); nothing was changed on any host', cause: error },
    );
  }
}

/** Pure apart from `os.homedir()` when opts.home is not given. */
export function parseInventory(text: string, file: string, opts: LoadOptions = {}): Inventory {
  const name = displayName(file);
  const lines = new LineCounter();
  // Keys are the same when they read the same: `1:` and `"1":` both become the key "1" in the data,
  // and the yaml package's own rule (same value, same type) would let the second drop the first.
  const sameKey = (a: unknown, b: unknown): boolean => a === b || (isScalar(a) && isScalar(b) && String(a.value) === String(b.value));
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: sameKey });

  const syntax: InventoryIssue[] = doc.errors.map((error) => {
    const { line, col } = lines.linePos(error.pos[0]);
    const what =
      error.code === 'DUPLICATE_KEY'
        ? `duplicate key${keyAt(text, error.pos[0])}: it is already set earlier in the same mapping`
        : error.code === 'MULTIPLE_DOCS'
          ? 'the file holds several YAML documents (separated by ---); an inventory is one document'
          : error.message.split('\n')[0];
    return { file: name, line, column: col, message: `YAML syntax: ${what}` };
  });
  if (syntax.length > 0) {
    throw new InventoryError(syntax, { hint: 'fix the YAML syntax at the positions above; nothing was changed on any host' });
  }

  const data = toData(doc, lines, name);
  const locateAll = (problems: readonly SchemaProblem[]): InventoryIssue[] =>
    problems.map((p) => ({ file: name, ...pointAt(doc, lines, p.path, p.at), message: p.message }));

  // A second copy, before the validator fills in defaults: what the file says.
  const written = toData(doc, lines, name);
  const validate = inventoryValidator();
  const valid = validate(data);
  const errors = valid ? [] : (validate.errors ?? []);
  const broken = brokenPaths(errors, data);
  // Cross-field rules read only values that passed the schema.
  const usable = (p: DataPath): boolean => !broken.some((b) => b.length <= p.length && b.every((s, i) => String(s) === String(p[i])));
  const problems = [...schemaProblems(errors, data), ...crossCheck(data as RawInventory, usable, written)];
  if (problems.length > 0) throw new InventoryError(sortIssues(locateAll(problems)));
  return normalize(data as RawInventory, file, opts.home ?? os.homedir());
}

/** ` "address"` for the `address: ...` key starting at `offset`, or '' when it cannot tell. */
function keyAt(text: string, offset: number): string {
  const key = /^\s*(?:-\s+)?["']?([^"':#\n]+?)["']?\s*:/.exec(text.slice(offset, text.indexOf('\n', offset) >>> 0))?.[1];
  return key ? ` ${JSON.stringify(key)}` : '';
}

function sortIssues(issues: InventoryIssue[]): InventoryIssue[] {
  const seen = new Set<string>();
  return issues
    .filter((i) => {
      const key = `${i.line}:${i.column}:${i.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}
