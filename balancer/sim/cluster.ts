// Where every simulated VM runs, and what it asks for at a given time.
import { HOST_RAM, HOST_TYPES, hostType, INTERVAL, VM_MIPS, VM_RAM, vmType, type HostType } from './model.ts';
import type { Trace } from './trace.ts';

export class Cluster {
  readonly hostCount: number;
  readonly vmCount: number;
  readonly hostTypes: HostType[];
  readonly capacity: Float64Array;
  readonly perCore: Float64Array;
  readonly vmMips: Float64Array;
  readonly vmRam: Float64Array;
  readonly vmHost: Int32Array;
  /** VMs on each host, in arrival order (CloudSim's guest list). */
  readonly hostVms: number[][];

  constructor(
    readonly trace: Trace,
    hosts: number,
  ) {
    this.hostCount = hosts;
    this.vmCount = trace.names.length;
    this.hostTypes = Array.from({ length: hosts }, (_, i) => hostType(i));
    this.capacity = Float64Array.from(this.hostTypes, (t) => t.cores * t.mipsPerCore);
    this.perCore = Float64Array.from(this.hostTypes, (t) => t.mipsPerCore);
    const n = this.vmCount;
    this.vmMips = Float64Array.from({ length: n }, (_, i) => VM_MIPS[vmType(i, n)] as number);
    this.vmRam = Float64Array.from({ length: n }, (_, i) => VM_RAM[vmType(i, n)] as number);
    this.vmHost = new Int32Array(n).fill(-1);
    this.hostVms = Array.from({ length: hosts }, () => []);
  }

  /** Utilisation (0..1) of VM v at time t: linear between samples, 0 past the end (as CloudSim). */
  util(v: number, t: number): number {
    const len = this.trace.length;
    const k = Math.floor(t / INTERVAL);
    const s = this.trace.samples;
    const a = k < len ? (s[v * len + k] as number) : 0;
    const frac = t / INTERVAL - k;
    if (frac === 0) return a;
    const b = k + 1 < len ? (s[v * len + k + 1] as number) : 0;
    return a + (b - a) * frac;
  }

  /** CloudSim retires a VM for good when it requests nothing at an update: its samples at k and
   * k + 1 are both 0 (past the end counts as 0; HostDynamicWorkload.getCompletedVms). */
  idleAt(v: number, k: number): boolean {
    const len = this.trace.length;
    const s = this.trace.samples;
    return (s[v * len + k] as number) === 0 && (k + 1 < len ? (s[v * len + k + 1] as number) : 0) === 0;
  }

  demand(v: number, t: number): number {
    return this.util(v, t) * (this.vmMips[v] as number);
  }

  ramUsed(h: number): number {
    let sum = 0;
    for (const v of this.hostVms[h] as number[]) sum += this.vmRam[v] as number;
    return sum;
  }

  place(v: number, h: number): void {
    this.vmHost[v] = h;
    (this.hostVms[h] as number[]).push(v);
  }

  remove(v: number): void {
    const h = this.vmHost[v] as number;
    const list = this.hostVms[h] as number[];
    const at = list.indexOf(v);
    if (at >= 0) list.splice(at, 1);
    this.vmHost[v] = -1;
  }
}

export { HOST_RAM, HOST_TYPES };
