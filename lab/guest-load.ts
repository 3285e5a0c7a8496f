// `hvmctl lab load VM PERCENT`: find where the guest runs, send it the key
// that sets its duty cycle (see guest-image.ts).
import { LOCAL_LIBVIRT_URI } from '../src/libvirt-uri.ts';
import { sh } from '../src/shell.ts';
import { loadKey } from './guest-image.ts';
import { LabError } from './lab-error.ts';
import type { LabState } from './lab-record.ts';
import { hostEntry } from './enter.ts';
import { labRoles, locateGuests, mustInHost } from './vms.ts';

export interface LoadResult {
  readonly vm: string;
  readonly host: string;
  readonly percent: number;
  readonly key: string;
}

export function setGuestLoad(state: LabState, vm: string, percent: number): LoadResult {
  const { key, percent: p } = loadKey(percent);
  const [where] = locateGuests(state, [vm]);
  if (!where?.host) {
    throw new LabError('E_LAB_GUEST', `${vm} is not running on any lab hypervisor (${where?.state ?? 'unknown'})`, {
      hint: 'start the guests with `hvmctl lab vms`',
    });
  }
  const host = labRoles(state).hypervisors.find((h) => h.name === where.host)!;
  mustInHost(hostEntry(state, host), sh`virsh -c ${LOCAL_LIBVIRT_URI} send-key ${vm} ${key}`);
  return { vm, host: host.name, percent: p, key };
}
