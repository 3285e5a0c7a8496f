// The firewall at boot: the OS's own loader reads the rules files apply
// writes (tasks/ops/firewall.ts), so after a reboot the rules are in force
// before the network comes up, with no apply in between.
//   - Debian: netfilter-persistent with iptables-persistent's plugins, which
//     load /etc/iptables/rules.v4 and rules.v6; its unit runs before
//     network-pre.target. iptables-persistent asks at install whether to save
//     the live rules into those very files (debconf autosave_v4/v6, default
//     yes): apply answers no beforehand, so the install never overwrites
//     apply's files with whatever happens to be loaded. The install also
//     STARTS netfilter-persistent, whose plugins run `iptables-restore` of
//     the files without --noflush: that wipes every chain of the filter table,
//     libvirt's LIBVIRT_* chains and jumps and other administrators' rules
//     included (checked with iptables 1.8.9). So the install runs between a
//     save and a restore of the live rulesets (keepLiveRulesets): what the
//     live task just loaded, libvirt's chains and the kept foreign rules
//     survive it.
//   - RHEL family: iptables-services (EL9: iptables-nft-services), units
//     iptables and ip6tables, files /etc/sysconfig/iptables and ip6tables.
// Only for the iptables backend: firewalld loads its own configuration, and
// both loaders at boot would fight. Installed in the base stage, after the
// rules files are written and the live rules loaded: Debian's package starts
// its unit at install, which then loads apply's files, not none. The unit is
// only enabled, not started (the live task already loaded the rules; starting
// iptables.service on RHEL before its file is apply's would load the
// package's sample rules). Where PID 1 is not systemd nothing can be enabled:
// the reason says so.
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { type FirewallLoader, osProfile } from '../../src/os/profiles.ts';
import { firewallRulesPath, ipFamilies } from '../../src/render/managed-files.ts';
import { sh } from '../../src/shell.ts';
import { keyed, valueOf } from '../engine/keyed-facts.ts';
import type { Change, Fact, Task, TaskResult } from '../engine/types.ts';
import { chooseBackend, type FirewallTools, firewallTools } from '../facts/firewall-backend.ts';
import { initProcess, isSystemd } from '../facts/process.ts';
import { unitState } from '../facts/systemd-unit.ts';
import { installedFact } from '../facts/installed-packages.ts';
import { firewallLoaderPackages } from '../../src/os/packages.ts';
import { installCommand } from './packages.ts';
import { TaskCheckError } from './task-error.ts';


/**
 * `script` run between a save and a restore of the live IPv4 and IPv6
 * rulesets (every table), so whatever `script` loads meanwhile is undone;
 * the restore runs even when `script` fails, and its status is kept.
 */
export function keepLiveRulesets(script: string): string {
  return [
    'hv4=$(mktemp) && hv6=$(mktemp) || exit 1',
    `trap 'rm -f "$hv4" "$hv6"' EXIT`,
    'iptables-save > "$hv4" || exit 1',
    'if [ -d /proc/sys/net/ipv6 ]; then ip6tables-save > "$hv6" || exit 1; fi',
    // Not `( ... ) || rc=$?`: inside an AND-OR list the shell ignores set -e.
    `( set -e\n${script}\n)`,
    'rc=$?',
    'iptables-restore < "$hv4" || rc=1',
    'if [ -s "$hv6" ]; then ip6tables-restore < "$hv6" || rc=1; fi',
    'exit "$rc"',
  ].join('\n');
}

export { IPTABLES_PERSISTENT_PRESEED } from '../../src/os/profiles.ts';

/** Runs before the loader's packages are installed: answers the install's questions (debconf), or nothing. */
export function beforeInstallScript(loader: FirewallLoader): string | undefined {
  return loader.debconf === undefined ? undefined : sh`printf '%s\\n' ${[...loader.debconf]} | debconf-set-selections`;
}

export interface BootFacts extends Record<string, unknown> {
  tools: FirewallTools;
  installed: ReadonlySet<string>;
  init: string;
}

/** Pure: install the loader where missing, enable its units where systemd runs. */
export function planFirewallBoot(host: HostSpec, backendSetting: Inventory['firewall']['backend'], facts: BootFacts): TaskResult {
  const backend = chooseBackend(backendSetting, facts.tools);
  if (backend === 'firewalld') return { changes: [], reason: 'firewalld is the backend; it loads its own configuration at boot', skipped: true };
  if (backend !== 'iptables') return { changes: [], reason: `no iptables rules to load at boot (backend ${backend ?? 'none found'})`, skipped: true };
  const loader = osProfile(host).firewallLoader;
  const packages = firewallLoaderPackages(host.osFamily);
  const beforeInstall = beforeInstallScript(loader);
  const files = ipFamilies.map((f) => firewallRulesPath(host, f)).join(' and ');
  const changes: Change[] = [];
  const missing = packages.filter((p) => !facts.installed.has(p));
  if (missing.length > 0) {
    const install = [...(beforeInstall === undefined ? [] : [beforeInstall]), installCommand(host.osFamily, missing)].join('\n');
    const script = loader.startsAtInstall ? keepLiveRulesets(install) : install;
    changes.push({ summary: `install ${missing.join(' ')} (loads ${files} at boot)`, commands: [{ script }] });
  }
  if (!isSystemd(facts.init)) {
    const reason = `PID 1 is ${facts.init}, not systemd: ${loader.units.join(', ')} cannot be enabled here; the host's own start-up must load ${files}`;
    return { changes, reason };
  }
  const disabled = loader.units.filter((u) => {
    const state = valueOf(facts, unitState(u));
    if (state === undefined) throw new TaskCheckError('E_FACT', `${host.name}: PID 1 is systemd but the state of ${u} was not read`, 'run apply again');
    return !state.enabled;
  });
  if (disabled.length > 0) {
    changes.push({ summary: `enable ${disabled.join(' ')} (loads ${files} at boot)`, commands: [{ script: sh`systemctl enable ${disabled}` }] });
  }
  return { changes, reason: changes.length > 0 ? '' : `${loader.units.join(', ')} enabled: ${files} are loaded at boot` };
}

export const firewallBootTask: Task<BootFacts> = {
  name: 'firewall at boot',
  tags: ['firewall'],
  stage: 'base',
  applies: () => true,
  facts: (ctx) =>
    ({
      tools: firewallTools,
      installed: installedFact(ctx.host.osFamily, firewallLoaderPackages(ctx.host.osFamily)),
      init: initProcess,
      ...keyed(osProfile(ctx.host).firewallLoader.units.map((u) => unitState(u))),
    }) as { [K in keyof BootFacts]: Fact<BootFacts[K]> },
  plan: (ctx, facts) => planFirewallBoot(ctx.host, ctx.inventory.firewall.backend, facts),
};
