// The inventory loader: the one adapter for `yaml` and `ajv`. Reads the file,
// reports YAML syntax errors and duplicate keys, checks the JSON Schema
// (schema.json) and the cross-field rules, and maps every problem back to the
// line and column of its YAML node. All problems come out at once, in one
// InventoryError; nothing else in hvmctl sees unchecked data.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { crossCheck } from './cross-checks.ts';
import type { InventoryIssue } from './inventory-error.ts';
import { InventoryError } from './inventory-error.ts';
import { normalize } from './normalize.ts';
import type { RawInventory } from './raw.ts';
import type { SchemaProblem } from './schema-errors.ts';
import { schemaProblems } from './schema-errors.ts';
import schema from './schema.json' with { type: 'json' };
import type { Inventory } from './types.ts';
import { inventoryValidator } from './validator.ts';
import { pointAt } from './yaml-position.ts';

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
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InventoryError([{ file: displayName(file), line: 1, column: 1, message: `cannot read the inventory (${code ?? String(error)})` }], {
      hint: code === 'ENOENT' ? 'pass the inventory with -i FILE, or run from the directory that holds inventory.yaml' : undefined,
      cause: error,
    });
  }
  return parseInventory(text, file, opts);
}

/** Pure apart from `os.homedir()` when opts.home is not given. */
export function parseInventory(text: string, file: string, opts: LoadOptions = {}): Inventory {
  const name = displayName(file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });

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

  const data: unknown = doc.toJS() ?? {};
  const locateAll = (problems: readonly SchemaProblem[]): InventoryIssue[] =>
    problems.map((p) => ({ file: name, ...pointAt(doc, lines, p.path, p.at), message: p.message }));

  const written: unknown = doc.toJS() ?? {};
  const validate = inventoryValidator();
  if (!validate(data)) {
    throw new InventoryError(sortIssues(locateAll(schemaProblems(validate.errors ?? [], data))));
  }
  const raw = data as RawInventory;
  const cross = crossCheck(raw, written);
  if (cross.length > 0) throw new InventoryError(sortIssues(locateAll(cross)));
  return normalize(raw, file, opts.home ?? os.homedir());
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
