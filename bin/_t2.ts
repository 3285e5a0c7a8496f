import { loadInventory } from '../src/inventory/load.ts';
import { connectSsh } from '../src/connector/ssh.ts';
import { cliRouteGuard } from '../lab/route-guard.ts';
import { playbook } from '../tasks/playbook.ts';
import { batchScript } from '../tasks/engine/facts.ts';
const inv = await loadInventory('inventory.yaml');
const guard = cliRouteGuard(process.env);
const t0 = performance.now();
await Promise.all(inv.hosts.map(async (h) => {
  const a = performance.now();
  const c = await connectSsh(h, { user: inv.ssh.user, identity: inv.ssh.identity, knownHosts: inv.ssh.knownHosts, guard });
  const b = performance.now();
  const r0 = await c.run('true');
  const b2 = performance.now();
  const ctx: any = { inventory: inv, host: h, cluster: { get: () => undefined }, check: true };
  const facts = playbook.tasks.filter(t => t.applies(h, inv)).flatMap(t => Object.values(t.facts(ctx)) as any[]);
  const uniq = [...new Map(facts.map(f => [f.key, f])).values()];
  const batch = batchScript(uniq);
  const r = await c.run(batch.script);
  const d = performance.now();
  console.log(h.name, 'connect', (b-a).toFixed(0), 'true', (b2-b).toFixed(0), 'facts', uniq.length, (d-b2).toFixed(0), r.stdout.length);
  // per-fact timing
  const times: [string, number][] = [];
  for (const f of uniq) { const s = performance.now(); await c.run(f.command); times.push([f.key, performance.now()-s]); }
  times.sort((x,y)=>y[1]-x[1]); console.log(h.name, times.slice(0,6).map(([k,v])=>k+'='+v.toFixed(0)).join(' '));
  await c.close();
}));
console.log('total', (performance.now()-t0).toFixed(0));
