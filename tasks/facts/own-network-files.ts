// Fact: the network files on the host that hvmctl wrote, found where a file's
// name carries the bridge's or the port's name (ownNetworkFileGlobs): a
// regular file whose first two lines say "# Managed by hvmctl", the header
// every template starts with. The network task removes those it no longer
// writes (tasks/ops/network.ts): after a bridge or port renamed in the
// inventory, the old name's files would otherwise stay beside the new ones,
// and at the next boot two profiles would claim the port. A file that lost
// the header (rewritten by nmcli, say) is the operator's now and is not listed.
import { ParseError } from '../../src/errors.ts';
import { ownNetworkFileGlobs } from '../../src/render/network-files.ts';
import type { Fact } from '../engine/types.ts';

/** The header's start, as templates/*.hbs write it. */
export const MANAGED_HEADER = '# Managed by hvmctl';

// The globs go into the script unquoted (they must expand): only characters that need no quoting.
for (const glob of ownNetworkFileGlobs) {
  if (!/^\/[A-Za-z0-9_./*-]+$/.test(glob)) throw new Error(`ownNetworkFileGlobs: ${glob} needs quoting`);
}
const dirs = [...new Set(ownNetworkFileGlobs.map((g) => g.slice(0, g.lastIndexOf('/') + 1)))];

export const ownNetworkFiles: Fact<readonly string[]> = {
  key: 'own-network-files',
  command:
    `for f in ${ownNetworkFileGlobs.join(' ')}; do ` +
    `if [ -f "$f" ] && [ ! -L "$f" ] && head -n 2 -- "$f" 2>/dev/null | grep -q '^${MANAGED_HEADER}'; then printf '%s\\n' "$f"; fi; ` +
    'done',
  parse: (result) => parseOwnNetworkFiles(result.stdout, result.code),
};

/** Pure: one path per line, each in one of the searched directories. */
export function parseOwnNetworkFiles(stdout: string, code = 0): string[] {
  if (code !== 0) throw new ParseError('network files hvmctl wrote', `the search exited ${code}`, 'run the fact command on the host by hand');
  const paths = stdout.split('\n').filter((line) => line !== '');
  for (const path of paths) {
    const dir = path.slice(0, path.lastIndexOf('/') + 1);
    if (!dirs.includes(dir) || path.length === dir.length || path.includes('*')) {
      throw new ParseError('network files hvmctl wrote', `unexpected line ${JSON.stringify(path)}`, 'run the fact command on the host by hand');
    }
  }
  return [...new Set(paths)].sort();
}
