// `hvmctl lab demo` (npm run demo): the whole tour in one command. Lab up
// (unless one is up), `hvmctl apply` on the default inventory, the guests,
// then where everything runs and what to try next.
import { existsSync } from 'node:fs';
import type { CliIo } from '../src/cli/io.ts';
import type { Inventory } from '../src/inventory/types.ts';
import { labPresence, labUp } from './up.ts';
import { readLabState } from './state.ts';
import type { LabState } from './state.ts';
import { labVms } from './vms.ts';
import type { GuestPlacement } from './vms.ts';
import { LabError } from './lab-error.ts';

export interface DemoDeps {
  /** Runs `hvmctl apply ARGV` and returns its exit code. */
  readonly apply: (argv: string[]) => Promise<number>;
  readonly knownHosts: string;
  readonly identity: string;
}

export async function labDemo(inv: Inventory, io: CliIo, deps: DemoDeps): Promise<number> {
  const say = (line: string) => io.err(`demo: ${line}`);
  let state = readLabState();
  if (state) {
    say(`a lab is already up (since ${state.startedAt}); using it`);
  } else {
    const present = labPresence();
    if (present) throw new LabError('E_LAB_UP', `a broken lab is in the way (${present})`, { hint: 'run `hvmctl lab down`, then the demo again', exitCode: 75 });
    say('1/3 lab up');
    const tcg = !existsSync('/dev/kvm');
    if (tcg) say('no /dev/kvm here: the guests run in software emulation (TCG), slower but the same');
    state = await labUp(inv, { tcg, knownHosts: deps.knownHosts, identity: deps.identity, progress: (l) => io.err(`lab: ${l}`) });
  }
  say(`2/3 hvmctl apply -i ${inv.file}`);
  const t0 = Date.now();
  const code = await deps.apply(['-i', inv.file]);
  if (code !== 0) {
    say(`hvmctl apply exited ${code}; stopping here (the lab stays up: hvmctl lab status, hvmctl lab down)`);
    return code;
  }
  say(`apply done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  say('3/3 lab vms');
  const guests = await labVms(state, inv, (l) => io.err(`lab: ${l}`), { nfsWaitMs: 60_000 });
  io.out(demoSummary(state, inv, guests));
  return 0;
}

/** Pure: the closing text of the demo. */
export function demoSummary(state: LabState, inv: Inventory, guests: readonly GuestPlacement[]): string {
  const lines = ['', 'The lab cluster is up and bootstrapped from ' + inv.file + ':', ''];
  for (const h of state.hosts) {
    const role = h.role === 'storage' ? `storage, NFS export ${inv.nfs.export}` : 'hypervisor';
    const here = guests.filter((g) => g.host === h.name).map((g) => g.name);
    lines.push(`  ${h.name.padEnd(11)} ${h.address.padEnd(13)} ${role}${here.length ? `; guests: ${here.join(', ')}` : ''}`);
  }
  lines.push(
    '',
    'Try:',
    '  npx hvmctl lab ssh kvmnode1                # a root shell on kvmnode1 (pinned host key)',
    '  npx hvmctl lab exec kvmnode1 -- virsh -c qemu:///system list',
    '  npx hvmctl lab load server1 100            # make server1 busy (0-100 %)',
    '  npx hvmctl plan                            # nothing to change: exit 0',
    '  npx hvmctl lab status                      # hosts, services, CPU accounting',
    '  npx hvmctl lab down                        # remove everything the lab made',
  );
  return lines.join('\n');
}
