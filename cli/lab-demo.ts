// `hvmctl lab demo` (npm run demo): the whole tour in one command. Lab up
// (unless one is up), `hvmctl apply` on the default inventory, the guests,
// then where everything runs and what to try next. With --balance it goes on
// to show the balancer's job, driven only by the schedule apply installed
// (the systemd timer, every minute): load a guest on the home hypervisor,
// wait until the balancer moves a guest away, unload, wait until it is back
// home; each step's log lines and how long it took.
import { existsSync } from 'node:fs';
import type { CliIo } from './io.ts';
import type { Inventory } from '../src/inventory/types.ts';
import { VIRSH } from '../src/libvirt-uri.ts';
import { balancerPaths } from '../src/render/balancer-paths.ts';
import { hostEntry, runInHost } from '../lab/enter.ts';
import { setGuestLoad } from '../lab/guest-load.ts';
import { LabError } from '../lab/lab-error.ts';
import { labPresence, labUp } from '../lab/up.ts';
import { readLabState } from '../lab/lab-record.ts';
import type { LabState } from '../lab/lab-record.ts';
import { GUEST_NAMES, labRoles, labVms, locateGuests } from '../lab/vms.ts';
import type { GuestPlacement } from '../lab/vms.ts';

export interface DemoDeps {
  /** Runs `hvmctl apply ARGV` and returns its exit code. */
  readonly apply: (argv: string[]) => Promise<number>;
  readonly knownHosts: string;
  readonly identity: string;
  readonly balance?: boolean;
  /** Bounds of the balance walk-through (defaults: 5 minutes to move away, 8 to come home). */
  readonly awayTimeoutMs?: number;
  readonly homeTimeoutMs?: number;
  readonly pollMs?: number;
}

export async function labDemo(inv: Inventory, io: CliIo, deps: DemoDeps): Promise<number> {
  const say = (line: string) => io.err(`demo: ${line}`);
  const steps = deps.balance ? 5 : 3;
  let state = readLabState();
  if (state) {
    say(`a lab is already up (since ${state.startedAt}); using it`);
  } else {
    const present = labPresence();
    if (present) throw new LabError('E_LAB_UP', `a broken lab is in the way (${present})`, { hint: 'run `hvmctl lab down`, then the demo again', exitCode: 75 });
    say(`1/${steps} lab up`);
    const tcg = !existsSync('/dev/kvm');
    if (tcg) say('no /dev/kvm here: the guests run in software emulation (TCG), slower but the same');
    state = await labUp(inv, { tcg, knownHosts: deps.knownHosts, identity: deps.identity, progress: (l) => io.err(`lab: ${l}`) });
  }
  say(`2/${steps} hvmctl apply -i ${inv.file}`);
  const t0 = Date.now();
  const code = await deps.apply(['-i', inv.file]);
  if (code !== 0) {
    say(`hvmctl apply exited ${code}; stopping here (the lab stays up: hvmctl lab status, hvmctl lab down)`);
    return code;
  }
  say(`apply done in ${seconds(Date.now() - t0)}`);
  say(`3/${steps} lab vms`);
  const guests = await labVms(state, inv, (l) => io.err(`lab: ${l}`), { nfsWaitMs: 120_000 });
  if (deps.balance) {
    const ok = await balanceWalkthrough(state, inv, io, deps);
    if (!ok) return 1;
  }
  io.out(demoSummary(state, inv, deps.balance ? locateGuests(state, GUEST_NAMES) : guests));
  return 0;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(0)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Load → the timer's balancer moves a guest away → unload → it comes home. False when a step timed out. */
async function balanceWalkthrough(state: LabState, inv: Inventory, io: CliIo, deps: DemoDeps): Promise<boolean> {
  const say = (line: string) => io.err(`demo: ${line}`);
  if (inv.balancer.strategy !== 'home') {
    throw new LabError('E_LAB_DEMO', `the walk-through shows the home strategy; the inventory runs '${inv.balancer.strategy}'`, { hint: 'set balancer.strategy: home' });
  }
  const settings = inv.balancer.home;
  const home = settings.hosts[0];
  if (!home) throw new LabError('E_LAB_DEMO', 'the inventory names no balancer home', { hint: 'set balancer.home.hosts' });
  const homeHost = labRoles(state).hypervisors.find((h) => h.name === home);
  if (!homeHost) throw new LabError('E_LAB_DEMO', `the balancer's home ${home} is not a lab hypervisor`, { hint: `check ${inv.file}` });
  const poll = deps.pollMs ?? 5000;
  const logLines = () => runInHost(hostEntry(state, homeHost), `cat ${balancerPaths.log} 2>/dev/null || true`).stdout.split('\n').filter(Boolean);
  let shown = logLines().length;
  const showLog = () => {
    const lines = logLines();
    for (const l of lines.slice(shown)) io.err(`  log: ${l.replaceAll('\t', ' ').replace(/ {2,}/g, ' ')}`);
    shown = lines.length;
  };
  for (const g of GUEST_NAMES) setGuestLoad(state, g, 0);
  // Two busy guests share the home's CPU: each is about half of it, so one can
  // leave for a helper that stays below `high` (one guest using a whole CPU
  // fits on no helper of the same size).
  const busy = GUEST_NAMES.slice(0, 2);
  say(`4/5 overload: lab load ${busy.join(' and ')} 100 on ${home} (the balancer runs every minute; it acts after ${settings.overloadWindow} runs above ${settings.high} %)`);
  for (const g of busy) setGuestLoad(state, g, 100);
  const loadedAt = Date.now();
  const away = await waitFor(deps.awayTimeoutMs ?? 300_000, poll, showLog, () => locateGuests(state, GUEST_NAMES).find((p) => p.host !== undefined && p.host !== home));
  if (!away) {
    say(`no guest left ${home} within ${seconds(deps.awayTimeoutMs ?? 300_000)}; see \`hvmctl balance log\` and \`hvmctl balance status\``);
    return false;
  }
  say(`${away.name} moved ${home} -> ${away.host} ${seconds(Date.now() - loadedAt)} after the load started`);
  say(`5/5 calm: lab load ${busy.join(' and ')} 0 (a guest comes home once ${home} with it back stays below ${settings.low} % for ${settings.calmWindow} runs, and its ${settings.cooldown} s cooldown is over)`);
  for (const g of GUEST_NAMES) setGuestLoad(state, g, 0);
  const calmAt = Date.now();
  const back = await waitFor(deps.homeTimeoutMs ?? 480_000, poll, showLog, () => {
    const where = locateGuests(state, GUEST_NAMES);
    return where.every((p) => p.host === home) ? where : undefined;
  });
  if (!back) {
    say(`the guests were not all home within ${seconds(deps.homeTimeoutMs ?? 480_000)}; see \`hvmctl balance log\``);
    return false;
  }
  say(`${away.name} is home on ${home} ${seconds(Date.now() - calmAt)} after the load stopped`);
  return true;
}

async function waitFor<T>(timeoutMs: number, pollMs: number, each: () => void, found: () => T | undefined): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    each();
    const value = found();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await sleep(pollMs);
  }
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
    `  npx hvmctl lab exec kvmnode1 -- ${VIRSH} list`,
    '  npx hvmctl lab load server1 100            # make server1 and server2 busy: kvmnode1 is overloaded;',
    '  npx hvmctl lab load server2 100            #   within ~3 minutes the balancer (every minute) moves one to kvmnode2',
    '  npx hvmctl balance log                     # what it decided, one line per run',
    '  npx hvmctl lab load server1 0              # calm again (both to 0): within ~5 minutes it comes home',
    '  npx hvmctl lab load server2 0',
    '  npx hvmctl balance status                  # where every guest runs, each host\'s load',
    '  npx hvmctl plan                            # nothing to change: exit 0',
    '  npx hvmctl lab reboot --all                # reboot every host; then plan still exits 0',
    '  npx hvmctl lab down                        # remove everything the lab made',
  );
  return lines.join('\n');
}
