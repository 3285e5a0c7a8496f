// Where the balancer lives on its home hypervisor(s): the one place, shared by
// the rendered files (cron entry, systemd units, config), the task that installs the
// balancer, the agent's own defaults (balancer/config.ts), `hvmctl balance`
// over SSH, the lab's demo and the benchmarks.

export const balancerPaths = {
  /** Installation directory of the bundled balancer. */
  dir: '/opt/hvmctl',
  /** The bundled balancer (one self-contained ES module). */
  script: '/opt/hvmctl/balancer.mjs',
  configDir: '/etc/hvmctl',
  /** Rendered from the inventory (balancer-config.ts). */
  config: '/etc/hvmctl/balancer.json',
  cron: '/etc/cron.d/hvmctl-balancer',
  /** Where PID 1 is systemd, these schedule the balancer instead of the cron entry. */
  serviceUnit: '/etc/systemd/system/hvmctl-balancer.service',
  timerUnit: '/etc/systemd/system/hvmctl-balancer.timer',
  logDir: '/var/log/hvmctl',
  /** What cron captures from each run (stdout and stderr). */
  cronLog: '/var/log/hvmctl/cron.log',
  /** One line per run: time, action, loads (the seed's log.txt). */
  log: '/var/log/hvmctl/balancer.log',
  /** One JSON object per run, for scripts. */
  jsonl: '/var/log/hvmctl/balancer.jsonl',
  /** History between runs (utilisation windows, last migrations). */
  stateDir: '/var/lib/hvmctl',
  state: '/var/lib/hvmctl/state.json',
  /** drain/undrain (the agent's default; the rendered config puts it beside the cluster lease). */
  drains: '/var/lib/hvmctl/drains.json',
  /** The agent's Prometheus metrics, in node-exporter's textfile directory. */
  metrics: '/var/lib/prometheus/node-exporter/hvmctl.prom',
  /** Lock against overlapping runs (on tmpfs: a stale lock does not survive a reboot). */
  lock: '/run/hvmctl-balancer.lock',
} as const;
