// Prometheus' exporters on the hypervisors, when the inventory has
// balancer.prometheus (hypervisor stage: after libvirt is installed):
//   - prometheus-node-exporter (host CPU and memory, and the textfile
//     collector that publishes the balancer's own hvmctl_* metrics from
//     /var/lib/prometheus/node-exporter) and prometheus-libvirt-exporter (each
//     domain's CPU time), Debian's packages;
//   - the libvirt exporter runs as user `prometheus` and reads libvirt's
//     read-write socket, whose group is `libvirt`: its package adds the user
//     to that group only when the group already exists at install time (not
//     when both arrive in one transaction), so apply makes sure of it and
//     restarts the exporter when it had to;
//   - both units enabled and running.
// Their ports are opened to balancer.prometheus.scrapers only (the firewall's
// flows, src/render/firewall-flows.ts): both answer anyone who asks, and the
// guests share the cluster network.
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { sh } from '../../src/shell.ts';
import type { Change, Task } from '../engine/types.ts';
import { installedFact } from '../facts/installed-packages.ts';
import { isSystemd, initProcess } from '../facts/process.ts';
import { type UnitState, unitState } from '../facts/systemd-unit.ts';
import { userGroups } from '../facts/user-groups.ts';
import { osProfile, type PrometheusExporters } from '../../src/os/profiles.ts';
import { installCommand } from './packages.ts';
import { TaskCheckError } from './task-error.ts';

/** The exporters of a host's OS family (its profile); the load-time checks refuse a family without them. */
export function exportersOf(host: HostSpec): PrometheusExporters {
  const e = osProfile(host).prometheusExporters;
  if (e === null) throw new TaskCheckError('E_NO_EXPORTERS', `${host.name}: ${osProfile(host).label} has no packaged Prometheus exporters`, 'remove balancer.prometheus and install node_exporter and a libvirt exporter yourself');
  return e;
}

/** Whether apply installs the exporters on `host`. */
export function wantsExporters(host: HostSpec, inv: Inventory): boolean {
  return host.role === 'hypervisor' && inv.balancer.prometheus !== undefined;
}

export interface ExporterFacts extends Record<string, unknown> {
  readonly installed: ReadonlySet<string>;
  readonly groups: readonly string[] | undefined;
  readonly init: string;
  readonly nodeUnit: UnitState | undefined;
  readonly libvirtUnit: UnitState | undefined;
}

/** Pure: what closes the gap, in order. */
export function exporterChanges(host: HostSpec, facts: ExporterFacts): Change[] {
  const changes: Change[] = [];
  const { packages, nodeUnit, libvirtUnit } = exportersOf(host);
  const missing = packages.filter((p) => !facts.installed.has(p));
  if (missing.length > 0) changes.push({ summary: `install ${missing.join(' ')}`, commands: [{ script: installCommand(host.osFamily, missing) }] });
  const inGroup = facts.groups?.includes('libvirt') ?? false;
  const systemd = isSystemd(facts.init);
  if (!inGroup) {
    changes.push({
      summary: 'let the libvirt exporter (user prometheus) read libvirt: add it to group libvirt',
      commands: [{ script: 'usermod -a -G libvirt prometheus' }, ...(systemd ? [{ script: sh`systemctl try-restart ${libvirtUnit}` }] : [])],
    });
  }
  if (!systemd) {
    if (missing.length > 0 || !inGroup) {
      throw new TaskCheckError('E_NO_SYSTEMD', `balancer.prometheus: the exporters need systemd as PID 1 on ${host.name} (PID 1 is ${facts.init})`, 'remove balancer.prometheus, or run the hypervisors with systemd');
    }
    return changes;
  }
  for (const [unit, state] of [
    [nodeUnit, facts.nodeUnit],
    [libvirtUnit, facts.libvirtUnit],
  ] as const) {
    // Before the package is installed its unit has no state: install, then enable.
    if (state !== undefined && state.enabled && state.active && missing.length === 0) continue;
    changes.push({ summary: `enable and start ${unit}`, commands: [{ script: sh`systemctl enable --now ${unit}` }] });
  }
  return changes;
}

export const exportersTask: Task<ExporterFacts> = {
  name: 'prometheus exporters',
  tags: ['prometheus', 'packages'],
  stage: 'hypervisor',
  applies: (host, inv) => wantsExporters(host, inv),
  facts: (ctx) => ({
    installed: installedFact(ctx.host.osFamily, exportersOf(ctx.host).packages),
    groups: userGroups('prometheus'),
    init: initProcess,
    nodeUnit: unitState(exportersOf(ctx.host).nodeUnit),
    libvirtUnit: unitState(exportersOf(ctx.host).libvirtUnit),
  }),
  plan: (ctx, facts) => {
    const changes = exporterChanges(ctx.host, facts);
    const { nodeUnit, libvirtUnit } = exportersOf(ctx.host);
    return { changes, reason: changes.length === 0 ? `${nodeUnit} and ${libvirtUnit} installed and running; prometheus reads libvirt` : '' };
  },
};
