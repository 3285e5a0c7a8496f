// vitest globalSetup of the `lab` project: one lab for all lab test files.
// Where the lab cannot run (not root, no /dev/kvm) it does nothing and the
// tests skip themselves (describe.skipIf(!labAvailable())), saying why.
// Otherwise: clear a stale lab, `hvmctl lab up`, and `hvmctl lab down` at the
// end (HVMCTL_LAB_KEEP=1 keeps the lab for a look afterwards; HVMCTL_LAB_REUSE=1
// runs against a lab that is already up).
import { labUnavailableReason, runHvmctl } from './support.ts';

function must(args: string[]): void {
  const r = runHvmctl(args, { timeoutMs: 900_000 });
  process.stderr.write(r.stderr);
  if (r.code !== 0) throw new Error(`hvmctl ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
}

export default function setup(): (() => void) | undefined {
  const reason = labUnavailableReason();
  if (reason) {
    process.stderr.write(`lab tests skipped: ${reason}\n`);
    return undefined;
  }
  // HVMCTL_LAB_REUSE=1: run against the lab that is up (a developer's loop), and leave it up.
  if (process.env.HVMCTL_LAB_REUSE === '1' && runHvmctl(['lab', 'status']).code === 0) {
    process.stderr.write('HVMCTL_LAB_REUSE=1: using the lab that is up, and leaving it up\n');
    return undefined;
  }
  must(['lab', 'down']);
  must(['lab', 'up']);
  return () => {
    if (process.env.HVMCTL_LAB_KEEP === '1') {
      process.stderr.write('HVMCTL_LAB_KEEP=1: the lab stays up (hvmctl lab down removes it)\n');
      return;
    }
    must(['lab', 'down']);
  };
}
