// Reads a fixture captured from the real tool on the development machine
// (test/fixtures/captured/README.md says how each was made).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function captured(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../fixtures/captured/${name}`, import.meta.url)), 'utf8');
}

export const ok = (stdout: string) => ({ code: 0, stdout, stderr: '' });
