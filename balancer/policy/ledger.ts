// The policy's scratch pad: the snapshot indexed once by host, and the
// projected CPU and memory of every host as planned migrations are added.
// decide() builds one per call and never touches its (readonly) input.
import type { HostState, Migration, Snapshot, VmState } from '../types.ts';

export interface HostBook {
  readonly state: HostState;
  /** Projected CPU use after the migrations planned so far. */
  cpu: number;
  /** Projected available memory after the migrations planned so far. */
  mem: number;
  /** VMs planned to be on the host (current VMs minus planned departures plus arrivals). */
  readonly vms: VmState[];
  /** VMs planned to leave or arrive this run. */
  moving: number;
}

export class Ledger {
  readonly hosts = new Map<string, HostBook>();
  readonly order: HostBook[] = [];
  readonly migrations: Migration[] = [];
  readonly reasons: string[] = [];
  readonly moved = new Set<string>();
  /** VMs whose host is not in the snapshot. */
  readonly orphans: VmState[] = [];

  constructor(snapshot: Snapshot) {
    for (const state of snapshot.hosts) {
      const book: HostBook = { state, cpu: state.cpuUsed, mem: state.memAvailableMiB, vms: [], moving: 0 };
      this.hosts.set(state.name, book);
      this.order.push(book);
    }
    for (const vm of snapshot.vms) {
      const book = this.hosts.get(vm.host);
      if (book) book.vms.push(vm);
      else this.orphans.push(vm);
    }
  }

  util(book: HostBook): number {
    return book.state.cpuCapacity > 0 ? book.cpu / book.state.cpuCapacity : 0;
  }

  utilWith(book: HostBook, vm: VmState): number {
    return book.state.cpuCapacity > 0 ? (book.cpu + vm.cpuUsed) / book.state.cpuCapacity : Infinity;
  }

  utilWithout(book: HostBook, vm: VmState): number {
    return book.state.cpuCapacity > 0 ? (book.cpu - vm.cpuUsed) / book.state.cpuCapacity : 0;
  }

  /** Hosts that ran VMs and that this plan's 'consolidate' moves leave with none. */
  emptied(): string[] {
    const from = new Set(this.migrations.filter((m) => m.kind === 'consolidate').map((m) => m.from));
    return this.order.filter((b) => from.has(b.state.name) && b.vms.length === 0).map((b) => b.state.name);
  }

  /** Both ends' utilisation once the whole plan is done (what the next run should measure). */
  predicted(m: Migration): { from: number; to: number } {
    const at = (name: string): number => {
      const b = this.hosts.get(name);
      return b ? Math.round(this.util(b) * 10000) / 10000 : 0;
    };
    return { from: at(m.from), to: at(m.to) };
  }

  /** Plans a move and updates both hosts' projections. */
  move(vm: VmState, from: HostBook, to: HostBook, migration: Migration): void {
    const at = from.vms.indexOf(vm);
    if (at >= 0) from.vms.splice(at, 1);
    to.vms.push(vm);
    from.cpu -= vm.cpuUsed;
    from.mem += vm.memMiB;
    to.cpu += vm.cpuUsed;
    to.mem -= vm.memMiB;
    from.moving += 1;
    to.moving += 1;
    this.moved.add(vm.name);
    this.migrations.push(migration);
  }
}
