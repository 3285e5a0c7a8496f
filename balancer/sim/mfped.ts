// Yardstick 'mfped' (replay only): Moges & Abebe's Medium-Fit Power Efficient
// Decreasing placement (J. Cloud Computing 8:2, 2019; their CloudSim class
// PowerVmAllocationPolicyMFPED extends LR-MMT-1.2). CloudSim's round
// (cloudsim-policy.ts) with:
//  - overload: local regression, safety 1.2, a 70 % static fallback while a
//    host has under 10 values (local-regression.ts);
//  - destination: among hosts with the room, skipping a busy one that the VM
//    would overload (the same LR test with the VM added), the one whose
//    utilisation AT MEASUREMENT is nearest 60 %; on a tie the more power
//    efficient (MIPS per watt at 100 %). The measured utilisation does not
//    change while a round is planned, so a round fills the medium host first.
import type { Strategy } from '../policy/strategy.ts';
import type { History } from '../types.ts';
import { planCloudsimRound, type CloudsimRules, type HostSums } from './cloudsim-policy.ts';
import { lrOverloaded, lrPrediction, type LrSettings } from './local-regression.ts';

export interface MfpedSettings extends LrSettings {
  /** The "medium" utilisation a destination is chosen nearest to (0.6). */
  readonly target: number;
}

function efficiency(e: HostSums): number {
  const max = e.book.state.powerModel?.[10];
  return max ? e.book.state.cpuCapacity / max : 0;
}

export function mfpedRules(s: MfpedSettings, history: History): CloudsimRules {
  const cap = (e: HostSums): number => e.book.state.cpuCapacity;
  const distance = (e: HostSums): number => Math.abs(e.measured / cap(e) - s.target);
  return {
    describe: (e) => {
      const p = lrPrediction(e.vms, history, cap(e), s);
      return p === undefined ? `requests more than ${Math.round(s.fallback * 100)} % (too little history for LR)` : `predicted at ${Math.round(p * 100)} % (LR × ${s.safety})`;
    },
    overloaded: (e) => lrOverloaded(e.vms, history, cap(e), s),
    accepts: (e, vm) => e.allocated === 0 || !lrOverloaded([...e.vms, vm], history, cap(e), s),
    better: (a, _vm, b) => {
      if (b === undefined) return true;
      const da = distance(a);
      const db = distance(b);
      return da < db || (da === db && efficiency(a) > efficiency(b));
    },
  };
}

export const mfpedStrategy: Strategy<MfpedSettings> = {
  name: 'mfped',
  summary: 'MFPED on LR-MMT-1.2: local-regression overload, least-memory VM first, the host nearest 60 % receives',
  drainLimit: () => 1,
  plan: ({ snapshot, settings, common, history, ledger, budget }) => planCloudsimRound(mfpedRules(settings, history), snapshot, common, history, ledger, budget),
};
