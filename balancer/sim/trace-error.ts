import { HvmError } from '../../src/errors.ts';

/** A trace directory or file that cannot be replayed. */
export class TraceError extends HvmError {
  constructor(message: string, hint: string, cause?: unknown) {
    super('E_TRACE', message, { hint, cause });
  }
}
