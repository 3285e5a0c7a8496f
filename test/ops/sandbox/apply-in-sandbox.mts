// Inside sandbox.sh: apply the pool, firewall, key pair and balancer tasks to this (sandboxed)
// host for real with the runner and a LocalConnector, apply again (must be a
// no-op), delete one live rule (plan must name it), apply (fixes only that).
// Prints one JSON document; test/ops/sandbox.test.ts reads it.
import { readFileSync } from 'node:fs';
import { LocalConnector } from '../../../src/connector/local.ts';
import { parseInventory } from '../../../src/inventory/load.ts';
import { runPlaybook } from '../../../tasks/engine/runner.ts';
import type { Task } from '../../../tasks/engine/types.ts';
import { handlers } from '../../../tasks/handlers.ts';
import { firewallLiveTask, firewallRulesFileTask } from '../../../tasks/ops/firewall.ts';
import { poolTask } from '../../../tasks/ops/pool.ts';
import { loadBalancerTasks } from '../../../tasks/ops/balancer.ts';
import { keyPairTask } from '../../../tasks/ops/ssh-trust.ts';

const file = new URL('../../../inventory.yaml', import.meta.url).pathname;
const inventory = parseInventory(readFileSync(file, 'utf8'), file);
const host = inventory.hosts.find((h) => h.name === 'kvmnode1');
if (!host) throw new Error('no kvmnode1');
// Not the firewall's boot-time loader task: it installs packages, and apt here
// would write /usr, which the sandbox does not overlay (test/ops/firewall-boot.test.ts covers it).
const tasks: Task[] = [firewallRulesFileTask, firewallLiveTask as Task, poolTask as Task, keyPairTask as Task, ...(await loadBalancerTasks())];
const local = new LocalConnector('kvmnode1');
const sh = async (c: string) => (await local.run(c)).stdout;
const run = async (check: boolean) => {
  const report = await runPlaybook({ inventory, tasks, handlers, hosts: [host], connect: async () => new LocalConnector('kvmnode1'), check });
  return report.results.map((r) => ({ task: r.task, status: r.status, reason: r.reason }));
};
// What apply must keep: libvirt's own chains and jumps (a real NAT network,
// started by the sandbox's libvirtd), another operator's rule, a site's
// jump-host rule; and what it must remove: a rule accepting everything.
const net = "<network><name>hvmtmp</name><forward mode='nat'/><bridge name='virbr0'/><dns enable='no'/><ip address='192.168.122.1' netmask='255.255.255.0'/></network>";
for (const c of [
  `printf '%s' "${net}" > /tmp/hvmtmp-net.xml && virsh -q -c qemu:///system net-define /tmp/hvmtmp-net.xml && virsh -q -c qemu:///system net-start hvmtmp`,
  'iptables -A INPUT -s 192.0.2.7/32 -p tcp -m tcp --dport 22 -j ACCEPT',
  'iptables -A INPUT -s 198.51.100.10/32 -p tcp -m tcp --dport 22 -m comment --comment "site: jump host" -j ACCEPT',
  'iptables -A INPUT -j ACCEPT',
]) {
  const r = await local.run(c);
  if (r.code !== 0) throw new Error(`${c}: ${r.stderr}`);
}
const first = await run(false);
const poolInfo = await sh('virsh -c qemu:///system pool-info default');
const second = await run(false);
const rule = (await sh("iptables-save -t filter | grep -m1 -- 'migration from kvmnode2'")).trim().replace(/^-A /, '');
await local.run(`iptables -D ${rule}`);
const drift = await run(true);
const fix = await run(false);
const third = await run(false);
const rulesFile = await sh('cat /etc/iptables/rules.v4');
const live = await sh('iptables-save -t filter');
const rulesFile6 = await sh('cat /etc/iptables/rules.v6');
const live6 = await sh('ip6tables-save -t filter');
const cron = await sh('cat /etc/cron.d/hvmctl-balancer; pgrep -x cron >/dev/null && echo cron-running');
const agent = await sh('/usr/bin/env node /opt/hvmctl/balancer.mjs --help 2>&1 | head -3; ls -l /opt/hvmctl/balancer.mjs /root/.ssh/id_ed25519.pub | cut -c1-10');
process.stdout.write(JSON.stringify({ first, poolInfo, second, drift, fix, third, rulesFile, live, rulesFile6, live6, cron, agent }));
