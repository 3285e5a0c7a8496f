// Errors of the local lab. Exit codes follow sysexits.h so scripts can tell
// "not root" (77) from "a lab is already up" (75) from "no KVM here" (69).
import { HvmError } from '../src/errors.ts';
import type { HvmErrorOptions } from '../src/errors.ts';

export class LabError extends HvmError {
  constructor(code: string, message: string, options: HvmErrorOptions = {}) {
    super(code, message, options);
  }
}

export const notRoot = () =>
  new LabError('E_LAB_NOT_ROOT', 'the lab needs root (it creates network namespaces, mounts and cgroups)', {
    hint: 'run it as root, e.g. sudo npx hvmctl lab up',
    exitCode: 77,
  });

export const noKvm = () =>
  new LabError('E_LAB_NO_KVM', '/dev/kvm is missing: the lab runs its guests with KVM', {
    hint: 'load the kvm module (modprobe kvm_intel or kvm_amd) or enable nested virtualisation; or run `hvmctl lab up --tcg` for guests in software emulation (slower)',
    exitCode: 69,
  });

export const alreadyUp = (what: string) =>
  new LabError('E_LAB_UP', `a lab is already up (${what})`, { hint: 'run `hvmctl lab down` first', exitCode: 75 });

export const notUp = () =>
  new LabError('E_LAB_DOWN', 'no lab is up', { hint: 'run `hvmctl lab up` first', exitCode: 69 });
