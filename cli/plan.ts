// `hvmctl plan`: apply --check --diff, with exit code 2 when something would
// change (drift) and 0 when nothing would. See apply.ts.
import { runApply, type ApplyDeps } from './apply.ts';
import type { CliIo } from './io.ts';

export const summary = 'show what apply would change, change nothing (exit 2 on drift)';

export async function run(argv: string[], io: CliIo, deps: ApplyDeps = {}): Promise<number> {
  return runApply(argv, io, 'plan', deps);
}
