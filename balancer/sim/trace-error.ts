import { HvmError } from '../../src/errors.ts';

/** A trace directory or file that cannot be replayed: bad input data, exit 65 (EX_DATAERR). */
export class TraceError extends HvmError {
  constructor(message: string, hint: string, cause?: unknown) {
    super('E_TRACE', message, { hint, cause, exitCode: 65 });
  }
}
