// A host's CPU at one instant, computed as CloudSim's HostDynamicWorkload and
// VmSchedulerTimeSharedOverSubscription do: each request capped to one core;
// a VM migrating out gets 90 % of it (counted back as 100 % of host use), one
// migrating in 10 %; if the sum passes capacity every share is scaled down.
// The host is in violation (SLATAH) when what it allocates is less than what
// its VMs request — the VM migrating in requests all of its demand.

export interface Guest {
  readonly request: number;
  /** 1 regular, 0.9 migrating out, 0.1 migrating in. */
  readonly share: number;
}

export interface HostInstant {
  /** Host CPU use (MIPS) as CloudSim counts it for power. */
  readonly used: number;
  readonly requested: number;
  /** What the VMs migrating out get, summed (for the migration penalty). */
  readonly outAllocated: number;
  readonly outRequested: number;
}

export function hostInstant(guests: readonly Guest[], capacity: number, perCore: number): HostInstant {
  let required = 0;
  for (const g of guests) required += Math.min(g.request, perCore) * g.share;
  const scale = required > capacity ? capacity / required : 1;
  let used = 0;
  let requested = 0;
  let outAllocated = 0;
  let outRequested = 0;
  for (const g of guests) {
    let allocated = Math.min(g.request, perCore) * g.share;
    if (scale !== 1) allocated *= scale;
    if (g.share === 0.9) {
      outAllocated += allocated;
      outRequested += g.request;
      allocated /= 0.9;
    }
    used += allocated;
    requested += g.request;
  }
  return { used, requested, outAllocated, outRequested };
}
