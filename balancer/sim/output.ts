// Where a replay prints its result: injected by the caller (the CLI passes
// its own IO, which has more), so the replay neither reads argv nor writes to
// the process's stdout itself.
import { rename, unlink, writeFile } from 'node:fs/promises';
import { HvmError } from '../../src/errors.ts';
export interface ReplayOutput {
  out(text: string): void;
}

/** Writes a report whole (a temporary file beside it, renamed), or throws exit 73 naming it. */
export async function writeReport(file: string, html: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, html);
    await rename(tmp, file);
  } catch (error) {
    await unlink(tmp).catch(() => {});
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new HvmError('E_OUTPUT', `cannot write the report ${file} (${code})`, { hint: 'write the report elsewhere (--report FILE)', exitCode: 73, cause: error });
  }
}
