// CloudSim's initial placement (PowerVmAllocationPolicyMigrationAbstract.
// findHostForVm while the VMs are being instantiated): VMs in order, each asks
// for its full MIPS, and goes to the host whose power grows least, among hosts
// with a core big enough, the MIPS and the RAM free. No host has been measured
// yet, so the 80 % check is skipped, as in CloudSim. 'first-fit' is
// PowerVmAllocationPolicySimple, used by CloudSim's no-migration (DVFS) run.
import { HOST_RAM, power } from './model.ts';
import type { Cluster } from './cluster.ts';
import { TraceError } from './trace-error.ts';

export function placeInitially(c: Cluster, mode: 'power-aware' | 'first-fit' = 'power-aware'): void {
  const allocated = new Float64Array(c.hostCount);
  const ram = new Float64Array(c.hostCount);
  for (let v = 0; v < c.vmCount; v++) {
    const mips = c.vmMips[v] as number;
    const need = c.vmRam[v] as number;
    let best = -1;
    let bestDiff = Infinity;
    for (let h = 0; h < c.hostCount; h++) {
      const cap = c.capacity[h] as number;
      if ((c.perCore[h] as number) < mips || cap - (allocated[h] as number) < mips || HOST_RAM - (ram[h] as number) < need) continue;
      if (mode === 'first-fit') {
        best = h;
        break;
      }
      const model = (c.hostTypes[h] as { power: readonly number[] }).power;
      const diff = power(model, ((allocated[h] as number) + mips) / cap) - power(model, 0);
      if (diff < bestDiff) {
        bestDiff = diff;
        best = h;
      }
    }
    if (best < 0) {
      throw new TraceError(
        `${c.vmCount} VMs do not fit on ${c.hostCount} hosts at their full MIPS (VM ${c.trace.names[v]} found no host)`,
        'give --hosts a larger number, or a trace with fewer VMs',
      );
    }
    allocated[best] = (allocated[best] as number) + mips;
    ram[best] = (ram[best] as number) + need;
    c.place(v, best);
  }
}
