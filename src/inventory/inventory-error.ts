// A bad inventory: every problem found, each with the file, line and column of
// the YAML node it is about. Exit code 65 (EX_DATAERR). Nothing was changed on
// any host when this is thrown: the inventory is read before any connection.
import { HvmError } from '../errors.ts';

export interface InventoryIssue {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** `path: what is wrong`, e.g. `cluster.gateway: "10.0.0.1" is not inside the cluster network 172.21.3.0/26`. */
  readonly message: string;
}

export function formatIssue(issue: InventoryIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.message}`;
}

export class InventoryError extends HvmError {
  readonly issues: readonly InventoryIssue[];

  constructor(issues: readonly InventoryIssue[], options: { hint?: string; cause?: unknown } = {}) {
    const lines = issues.map(formatIssue);
    const file = issues[0]?.file ?? 'inventory';
    const message =
      lines.length === 1 ? (lines[0] ?? '') : `${lines.length} problems in ${file}:\n  ${lines.join('\n  ')}`;
    super('E_INVENTORY', message, {
      exitCode: 65,
      cause: options.cause,
      hint:
        options.hint ??
        'fix the inventory and run again (the rules are in src/inventory/schema.json); nothing was changed on any host',
    });
    this.issues = issues;
  }
}
