// Baseline 'seed' (replay only): the thesis' own rule, exactly, so that the
// home strategy can be measured against what it replaces (SPEC.md, "The
// balancer in the seed"). Every run, one test on the home's measured CPU:
//  - above `threshold` (maxhvm=80): a VM goes to the first helper that holds
//    none of the home's VMs yet (HVM2, then HVM3 on a later run); the VM is the
//    busiest one, as the seed ranked its VMs by virt-top load;
//  - not above it, and a VM is away: the last one sent away comes back
//    ("remigrate"; the seed's script has no other test for "the load falls").
// One move per run, no windows, no cooldown, no memory check on the helper,
// no look at the helper's own load: the seed had none of these.
import { pct } from '../policy/format.ts';
import type { Strategy } from '../policy/strategy.ts';

export interface SeedSettings {
  readonly home: string;
  /** HVM2, HVM3: each takes one VM. */
  readonly helpers: readonly string[];
  /** 0..1 (maxhvm=80 → 0.8). */
  readonly threshold: number;
}

export const seedStrategy: Strategy<SeedSettings> = {
  name: 'seed',
  summary: "the thesis' rule: above 80 % a VM to HVM2, then one to HVM3; back home when not above 80 %",
  drainLimit: () => 1,
  plan: ({ settings, ledger, budget }) => {
    const home = ledger.hosts.get(settings.home);
    if (!home) {
      ledger.reasons.push(`home ${settings.home} is not in the snapshot`);
      return;
    }
    const u = ledger.util(home);
    const away = settings.helpers.map((h) => ledger.hosts.get(h)?.vms.find((vm) => vm.home === settings.home));
    if (u > settings.threshold) {
      const slot = away.findIndex((vm) => vm === undefined);
      const helper = slot < 0 ? undefined : ledger.hosts.get(settings.helpers[slot] as string);
      const vm = [...home.vms].sort((a, b) => b.cpuUsed - a.cpuUsed)[0];
      if (!helper || !vm) {
        ledger.reasons.push(`${settings.home} at ${pct(u)} > ${pct(settings.threshold)} but ${vm ? 'every helper already holds a VM' : 'it runs no VM'}`);
        return;
      }
      if (!budget.take()) return;
      ledger.move(vm, home, helper, {
        vm: vm.name,
        from: home.state.name,
        to: helper.state.name,
        kind: 'migrate',
        reason: `${settings.home} at ${pct(u)} > ${pct(settings.threshold)}: ${vm.name}, its busiest VM, to ${helper.state.name}`,
        fallbacks: [],
      });
      return;
    }
    const last = [...away.keys()].reverse().find((i) => away[i] !== undefined);
    if (last === undefined) {
      ledger.reasons.push(`${settings.home} at ${pct(u)}, not above ${pct(settings.threshold)}, and no VM is away`);
      return;
    }
    const vm = away[last];
    const where = ledger.hosts.get(settings.helpers[last] as string);
    if (!vm || !where) {
      ledger.reasons.push(`${settings.helpers[last]} is not in the snapshot: its VM cannot come home`);
      return;
    }
    if (!budget.take()) return; // Budget.close says what was held back
    ledger.move(vm, where, home, {
      vm: vm.name,
      from: where.state.name,
      to: home.state.name,
      kind: 'remigrate',
      reason: `${settings.home} at ${pct(u)}, not above ${pct(settings.threshold)}: ${vm.name} comes home`,
      fallbacks: [],
    });
  },
};
