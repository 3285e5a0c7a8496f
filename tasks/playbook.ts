// The playbook: every task apply runs, in order, and the handlers they notify.
// The runner orders by stage (packages, base, storage, hypervisor, trust,
// balancer); inside a stage, tasks run in the order listed here.
import type { Handler, Task } from './engine/types.ts';
import { handlers as serviceHandlers } from './handlers.ts';
import { loadBalancerTasks } from './ops/balancer.ts';
import { bridgeGuardTasks } from './ops/bridge-guard.ts';
import { firewallTasks } from './ops/firewall.ts';
import { hostsTask } from './ops/hosts.ts';
import { fstabTask } from './ops/fstab.ts';
import { mountTasks } from './ops/mount.ts';
import { networkTask } from './ops/network.ts';
import { nfsServerTasks } from './ops/nfs.ts';
import { packageTasks } from './ops/packages.ts';
import { poolTask } from './ops/pool.ts';
import { exportersTask } from './ops/exporters.ts';
import { diskLockTasks } from './ops/disk-locks.ts';
import { sshTrustTasks } from './ops/ssh-trust.ts';

export interface Playbook {
  readonly tasks: readonly Task[];
  readonly handlers: readonly Handler[];
}

export const playbook: Playbook = {
  tasks: [
    ...packageTasks, // packages
    hostsTask, // base
    networkTask,
    ...firewallTasks,
    ...nfsServerTasks, // storage
    fstabTask as Task, // hypervisor: the images' and the lockspace's lines, one task for the file
    ...mountTasks,
    ...bridgeGuardTasks, // hypervisor, after the network restart was confirmed: no guest speaks as a host
    poolTask as Task,
    ...diskLockTasks, // storage (the export's lockspace), hypervisor
    exportersTask as Task, // hypervisor, with balancer.prometheus
    ...sshTrustTasks, // hypervisor (key pair), trust
    ...(await loadBalancerTasks()), // balancer (bundles the agent with esbuild once, ~50 ms)
  ],
  // network-restart first: a handler that cuts the connection should not leave others half-run
  // (handlers.ts lists every handler, networkRestartHandler first)
  handlers: serviceHandlers,
};
