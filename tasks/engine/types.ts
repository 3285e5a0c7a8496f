// The provisioning model (after pyinfra, see ../shared/STYLE.md):
//   - a Fact is a read-only command plus a pure parser;
//   - a Task (an operation) compares what the inventory wants with the facts
//     and returns the commands that close the gap, or nothing and a reason;
//   - the runner (runner.ts) gathers facts through a Connector, asks each task
//     for its changes, prints them, and (unless in check mode) executes them,
//     then runs the handlers the changes notified, once per host, at the end.
// Tasks never touch a host; check mode is "stop before execute".
import type { Connector, RunResult } from '../../src/connector/connector.ts';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import type { HandlerName } from '../../src/render/types.ts';

export interface Fact<T> {
  /**
   * Unique per host, e.g. `file:/etc/hosts`; facts with the same key are
   * gathered once. Only the fact's own module builds it: consumers name the
   * fact (`fileFact(path)`), never a key.
   */
  readonly key: string;
  /** Read-only shell command (built with `sh`, every value quoted). */
  readonly command: string;
  /** Pure; throws ParseError on output it does not understand. */
  parse(result: RunResult): T;
}

export interface Command {
  /** Shell script, run with `sh -c` on the host; must be safe to re-run. */
  readonly script: string;
  /** Standard input for the script (e.g. a file's new content). */
  readonly input?: string;
  /** The input is secret: never printed, never in a diff or in --json. */
  readonly sensitive?: boolean;
}

/** The handlers' names (src/render/types.ts: managed files name them too). */
export type { HandlerName };

export interface Change {
  /** One line for a person: "write /etc/hosts", "define pool default". */
  readonly summary: string;
  readonly commands: readonly Command[];
  /** Unified diff of what changes (files, rules), shown with --diff; redacted when sensitive. */
  readonly diff?: string;
  readonly notify?: readonly HandlerName[];
}

/**
 * `changes` empty means no-op, and `reason` says why ("/etc/hosts already up to date").
 * `skipped` reports such a no-op as skipped rather than ok: the task did not
 * look at the host because it does not concern it now ("firewalld is the
 * backend", "no keys from kvmnode2 yet"). The reason never carries the status.
 */
export interface TaskResult {
  readonly changes: readonly Change[];
  readonly reason: string;
  readonly skipped?: true;
}

export type Stage =
  | 'packages' // OS packages and services every later stage needs
  | 'base' // /etc/hosts, network, firewall
  | 'storage' // NFS export on the storage node
  | 'hypervisor' // NFS mount, libvirt pool, cluster key pair
  | 'trust' // authorized_keys and known_hosts between hypervisors (needs every hypervisor's keys)
  | 'balancer'; // the balancer on its home host, last

export const stageOrder: readonly Stage[] = ['packages', 'base', 'storage', 'hypervisor', 'trust', 'balancer'];

/**
 * Facts other hosts published in earlier stages (a task's `publish` facts are
 * gathered again after its stage ran), e.g. each hypervisor's public key.
 */
export interface ClusterFacts {
  /** What `host` published for `fact` (looked up by the fact itself), undefined when it published nothing. */
  get<T>(host: string, fact: Fact<T>): T | undefined;
}

export interface TaskContext {
  readonly inventory: Inventory;
  readonly host: HostSpec;
  readonly cluster: ClusterFacts;
  /** Check mode: nothing will be executed (tasks may say "would ..."). */
  readonly check: boolean;
  /**
   * The address this host sees the operator's connection come from (first
   * field of `$SSH_CLIENT`, gathered once per host by the runner); undefined
   * for local runs. Pass it to `managedFiles(inv, host, { operatorAddress })`
   * so the firewall never locks the operator out.
   */
  readonly operatorAddress?: string;
}

export interface Task<F extends Record<string, unknown> = Record<string, unknown>> {
  /** Shown in output, e.g. "hosts file". Unique. */
  readonly name: string;
  /** For --tags, e.g. ['hosts'], ['firewall'], ['nfs']. */
  readonly tags: readonly string[];
  readonly stage: Stage;
  /** Whether this task concerns the host at all (e.g. storage-only tasks). */
  applies(host: HostSpec, inventory: Inventory): boolean;
  /** The facts `plan` needs, by name. */
  facts(ctx: TaskContext): { readonly [K in keyof F]: Fact<F[K]> };
  /** Pure: (wanted, facts) -> commands. */
  plan(ctx: TaskContext, facts: F): TaskResult;
  /** Facts to gather after this task's stage and share with other hosts' later tasks via ClusterFacts. */
  publish?(ctx: Omit<TaskContext, 'cluster'>): readonly Fact<unknown>[];
}

/** A handler runs commands on the host once, at the end, when a change notified it... */
export interface CommandHandler {
  readonly name: HandlerName;
  commands(ctx: TaskContext): readonly Command[];
  readonly execute?: undefined;
}

/**
 * ...or, when it needs more than commands (e.g. the network restart, which
 * must reconnect from the operator side to confirm the host is still
 * reachable), runs itself. In check mode it is never called.
 */
export interface ExecuteHandler {
  readonly name: HandlerName;
  execute(ctx: HandlerContext): Promise<HandlerOutcome>;
  readonly commands?: undefined;
}

export type Handler = CommandHandler | ExecuteHandler;

export interface HandlerContext extends TaskContext {
  /** The host's open connection. */
  readonly connector: Connector;
  /**
   * Opens a NEW connection to the host, runs `command` (default `true`) there
   * and closes it; throws ConnectError when the host cannot be reached.
   */
  probe(command?: string): Promise<RunResult>;
}

export interface HandlerOutcome {
  readonly status: 'changed' | 'skipped' | 'failed';
  readonly reason: string;
}
