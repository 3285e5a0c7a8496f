// The record of a running lab (state.json on the lab tmpfs): which hosts, the
// PID (root namespace) of each host's init, where its files are, and what the
// lab added to the operator's files. Written by `lab up`, read by everything
// else, gone after `lab down`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ParseError } from '../src/errors.ts';
import type { LabHost } from './topology.ts';
import { LAB_STATE } from './topology.ts';

export interface LabHostState extends LabHost {
  /** PID 1 of the host's PID namespace, as the root namespace sees it. */
  readonly initPid: number;
}

export interface LabState {
  readonly version: 1;
  /** Absolute path of the inventory the lab was built from. */
  readonly inventory: string;
  readonly knownHosts: string;
  readonly identity: string;
  readonly bridge: string;
  readonly gatewayCidr: string;
  readonly startedAt: string;
  /** How guests are accelerated: kvm, or tcg when /dev/kvm is missing. */
  readonly accel: 'kvm' | 'tcg';
  /** Hosts run only sshd and cron (`lab up --sshd-only`). */
  readonly sshdOnly?: boolean;
  readonly hosts: readonly LabHostState[];
}

export function readLabState(file = LAB_STATE): LabState | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  try {
    const state = JSON.parse(text) as LabState;
    if (state.version !== 1 || !Array.isArray(state.hosts)) throw new Error('unknown version');
    return state;
  } catch (error) {
    throw new ParseError(file, String(error), 'run `hvmctl lab down` to clear a broken lab');
  }
}

export function writeLabState(state: LabState, file = LAB_STATE): void {
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
