// Where the repository is, for the files hvmctl reads at run time (templates/,
// lab/*.sh, balancer/agent-main.ts). This module sits one directory below the
// root, as does the precompiled CLI (dist/hvmctl.mjs, see cli/build.ts) that
// bundles it, so "one up from here" is the root in both.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));

if (!existsSync(join(repoRoot, 'templates'))) {
  throw new Error(`hvmctl: no templates/ in ${repoRoot}; this module must run from src/ or dist/ of the repository`);
}

/** A path inside the repository, e.g. repoPath('lab', 'host-init.sh'). */
export function repoPath(...parts: string[]): string {
  return join(repoRoot, ...parts);
}
