// `virsh list [--all] --name`: one domain name per line, a blank line at the end.
import { ParseError } from '../../src/errors.ts';

export function parseVirshList(text: string): string[] {
  const names = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const bad = names.find((n) => /\s/.test(n));
  if (bad !== undefined) {
    throw new ParseError('virsh list --name', `"${bad}" is not a domain name`, 'run virsh list with --name (the table form is not accepted)');
  }
  return names;
}
