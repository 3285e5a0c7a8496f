// The record of a running lab (state.json on the lab tmpfs): which hosts,
// where their files are, the image they boot, the cgroup hierarchies they
// live in, and what the lab added to the operator's files. Written by `lab
// up`, read by everything else, gone after `lab down`. A host's processes are
// found at run time (lab/host-process.ts): a reboot gives it a new init.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ParseError } from '../src/errors.ts';
import type { LabHost } from './topology.ts';
import { LAB_STATE } from './topology.ts';

export type LabHostState = LabHost;

export interface LabState {
  readonly version: 2;
  /** Absolute path of the inventory the lab was built from. */
  readonly inventory: string;
  readonly knownHosts: string;
  readonly identity: string;
  readonly bridge: string;
  readonly gatewayCidr: string;
  readonly startedAt: string;
  /** How guests are accelerated: kvm, or tcg when /dev/kvm is missing. */
  readonly accel: 'kvm' | 'tcg';
  /** Hosts run only sshd, no init (`lab up --sshd-only`). */
  readonly sshdOnly?: boolean;
  /** The cached image the hosts boot (lab/image.ts). */
  readonly image: string;
  /** cgroup hierarchies (directories under /sys/fs/cgroup) each host has a cgroup in. */
  readonly hierarchies: readonly string[];
  readonly hosts: readonly LabHostState[];
}

export function readLabState(file = LAB_STATE): LabState | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  try {
    const state = JSON.parse(text) as LabState;
    if (state.version !== 2 || !Array.isArray(state.hosts)) throw new Error('unknown version');
    return state;
  } catch (error) {
    throw new ParseError(file, String(error), 'run `hvmctl lab down` to clear a broken lab');
  }
}

export function writeLabState(state: LabState, file = LAB_STATE): void {
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
