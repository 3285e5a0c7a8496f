// A task whose check failed: not a change apply could make, but a fact about
// the host or the cluster that a person must fix (export unreachable,
// unsupported firewall backend). The runner records it as a failed task.
import { HvmError } from '../../src/errors.ts';

export class TaskCheckError extends HvmError {
  constructor(code: string, message: string, hint: string) {
    super(code, message, { hint });
  }
}
