import type { Failures } from './backoff.ts';

// The balancer's data: what `collect` measures (Snapshot), what `decide` is
// told (a strategy's name and settings, CommonConfig, History) and what it returns (Plan). decide() is pure
// and the same function runs in the cron job, in `--dry-run` and in trace
// replay (`hvmctl balance simulate`), so units are abstract:
//   CPU: capacity and use in one unit per snapshot. On real hosts it is
//        "percent of one core" (a 2-core host has capacity 200); in the
//        simulator it is MIPS. Only ratios matter to the policy.
//   Memory: MiB.
//   Time: seconds since any fixed origin (the cron job uses the Unix clock,
//        the simulator the start of the trace).

export interface HostState {
  readonly name: string;
  /** False when the host could not be measured (down, SSH or libvirt failing). */
  readonly reachable: boolean;
  /** Answered, but its numbers are unknown (missing or stale metrics): why. Such a host is
   * `reachable: false` to the policy: it neither gives nor receives. */
  readonly unmeasured?: string;
  /** A drained host is emptied and receives nothing. */
  readonly drained: boolean;
  readonly cpuCapacity: number;
  /** Measured CPU use of the whole host (VMs and everything else). */
  readonly cpuUsed: number;
  readonly memTotalMiB: number;
  readonly memAvailableMiB: number;
  /** Capacity of one core (same unit as cpuCapacity); a one-vCPU VM can use at most this. Optional. */
  readonly cpuPerCore?: number;
  /** Power draw in watts at 0 %, 10 %, ... 100 % CPU (11 values), for power-aware placement. Optional. */
  readonly powerModel?: readonly number[];
}

export interface VmState {
  readonly name: string;
  /** Host the VM runs on now. */
  readonly host: string;
  /** Host it normally lives on, if it has one (from libvirt metadata / inventory). */
  readonly home: string | undefined;
  /** CPU use, same unit as the hosts'. */
  readonly cpuUsed: number;
  readonly memMiB: number;
  readonly pinned: boolean;
}

export interface Snapshot {
  readonly time: number;
  readonly hosts: readonly HostState[];
  readonly vms: readonly VmState[];
}

export interface History {
  /** Per host, its recent CPU utilisation (0..1), oldest first, the current one not included. */
  readonly hostUtilisation: ReadonlyMap<string, readonly number[]>;
  /** Per VM, when it last moved (same clock as Snapshot.time). */
  readonly lastMigration: ReadonlyMap<string, number>;
  /** Per VM, its recent CPU use (host units), oldest first, the current one not included. Optional:
   * when given, a host's prediction is rebuilt from the VMs it holds now, not from its own past. */
  readonly vmCpu?: ReadonlyMap<string, readonly number[]>;
  /** Per VM, when it was moved recently to relieve an overloaded host (oldest first, same clock).
   * Moves that emptied or drained a host are not in it: they say nothing about the VM's load.
   * Optional: without it a growing cooldown (consolidate's cooldownMemory) is the base. */
  readonly reliefs?: ReadonlyMap<string, readonly number[]>;
  /** Failed migrations in a row, per VM and per VM>destination (balancer/backoff.ts). Optional. */
  readonly failures?: Failures;
}

/** What every strategy shares: the run's limit and the operator's orders. A strategy's own
 * settings (thresholds, windows, homes) are its own: see policy/strategies.ts. */
export interface CommonConfig {
  readonly maxMigrationsPerRun: number;
  readonly pinned: readonly string[];
  readonly drained: readonly string[];
  /** Memory kept free on a destination, MiB (default 256). */
  readonly memMarginMiB?: number;
}

export type MigrationKind = 'migrate' | 'remigrate' | 'drain' | 'consolidate';

export interface Migration {
  readonly vm: string;
  readonly from: string;
  readonly to: string;
  readonly kind: MigrationKind;
  /** Why, for a person: "kvmnode1 at 93 % for 2 runs > 80 %; server2 (41 %) brings it to 52 %". */
  readonly reason: string;
  /** Other acceptable destinations, best first, for the executor to try when `to` fails. */
  readonly fallbacks: readonly string[];
  /** The utilisation (0..1) the plan predicts the next run will measure on `from` and `to`
   * (the current loads moved as planned); checked against that measurement (prediction.ts). */
  readonly predicted?: { readonly from: number; readonly to: number };
}

export interface Plan {
  readonly migrations: readonly Migration[];
  /** Why nothing (more) was done, one line per host or rule, always at least one line. */
  readonly reasons: readonly string[];
  /** Hosts this plan leaves with no VM (strategy 'consolidate'): they may be switched off. */
  readonly emptied?: readonly string[];
}
