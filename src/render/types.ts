// A file that apply manages on a host, rendered from the inventory alone
// (no connection needed), so `hvmctl render` and apply share one list.

/**
 * What a managed file (or a task's change) notifies when it changes: each
 * name is one handler of tasks/handlers.ts, run once per host at the end of
 * the stage. Named here, below both, since the files name them.
 */
export type HandlerName =
  | 'network-restart'
  | 'exportfs'
  | 'ganesha-restart'
  | 'pool-refresh'
  | 'cron-reload'
  | 'sshd-reload'
  | 'libvirtd-restart'
  | 'bridge-guard-load';

/**
 * A file's content and how it sits on the host, nothing about how apply runs
 * (no stage, order, fact or command). Two fields name things of apply's, as
 * plain data about the file: `notify`, what must re-read the file when it
 * changes (a HandlerName, a string this module owns; the handlers that do it
 * are tasks/handlers.ts), and `tags`, the part of the system the file
 * configures (the tasks pick their files by it, `hvmctl render --json` shows
 * it). Both are facts of the file (/etc/exports is read by `exportfs -ra`
 * whoever installs it), so render says them once, for every consumer.
 */
export interface ManagedFile {
  /** Absolute path on the host. */
  readonly path: string;
  readonly content: string;
  /** e.g. 0o644 */
  readonly mode: number;
  readonly owner: string;
  readonly group: string;
  /**
   * Validation run on the temporary copy before it replaces the file, with
   * `{}` standing for the temporary file's (quoted) path, e.g. `sshd -t -f {}`.
   */
  readonly validate?: string;
  readonly notify: readonly HandlerName[];
  readonly tags: readonly string[];
  /** Secret content: never printed or diffed. */
  readonly sensitive?: boolean;
  /** Which template it came from, for messages, e.g. `templates/hosts.hbs`. */
  readonly template: string;
}
