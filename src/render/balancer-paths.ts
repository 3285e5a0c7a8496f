// Where the balancer lives on its home hypervisor(s): one place, shared by the
// rendered files (cron entry, config) and the task that installs the balancer.

export const balancerPaths = {
  /** Installation directory of the bundled balancer. */
  dir: '/opt/hvmctl',
  /** The bundled balancer (one self-contained ES module). */
  script: '/opt/hvmctl/balancer.mjs',
  configDir: '/etc/hvmctl',
  /** Rendered from the inventory (balancer-config.ts). */
  config: '/etc/hvmctl/balancer.json',
  cron: '/etc/cron.d/hvmctl-balancer',
  logDir: '/var/log/hvmctl',
  /** What cron captures from each run (stdout and stderr). */
  cronLog: '/var/log/hvmctl/cron.log',
  /** One line per run: time, action, loads (the seed's log.txt). */
  log: '/var/log/hvmctl/balancer.log',
  /** History between runs (utilisation windows, last migrations) and the run lock. */
  stateDir: '/var/lib/hvmctl',
  state: '/var/lib/hvmctl/balancer-state.json',
  lock: '/var/lib/hvmctl/balancer.lock',
} as const;
