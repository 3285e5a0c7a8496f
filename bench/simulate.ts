// npm run bench:simulate — one simulated day per (day, policy), each in its own
// process so its peak RSS is its own: wall time (trace loading included) and
// peak resident memory, against the targets (< 5 s, < 300 MB; CloudSim: 51 s, 1.3 GB).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLOUDSIM_CONFIGS } from '../balancer/sim/config.ts';
import { simulate } from '../balancer/sim/simulate.ts';
import { loadTrace } from '../balancer/sim/trace.ts';
import { VARIANTS } from '../balancer/sim/variants.ts';

const TRACES = process.env.HVMCTL_TRACES ?? new URL('../../shared/traces/planetlab/', import.meta.url).pathname;
const DAYS = ['20110303', '20110306'];
type Name = keyof typeof CLOUDSIM_CONFIGS;
const POLICIES: Name[] = ['consolidate', 'thr-mmt'];

async function one(day: string, policy: Name): Promise<void> {
  const started = performance.now();
  const trace = await loadTrace(`${TRACES}/${day}`);
  const loaded = performance.now();
  const r = simulate(trace, { config: CLOUDSIM_CONFIGS[policy] });
  const done = performance.now();
  const m = r.metrics;
  process.stdout.write(
    JSON.stringify({
      day,
      strategy: policy,
      wallS: (done - started) / 1000,
      loadS: (loaded - started) / 1000,
      decideS: r.decideMs / 1000,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      energyKWh: m.energyKWh,
      migrations: m.migrations,
      slatah: m.slatah,
    }),
  );
}

/** --variants: both policies on days the policy was not tuned on (see balancer/sim/variants.ts). */
async function variants(): Promise<void> {
  console.log('day       variant          THR-MMT-0.8: kWh  migr  SLATAH | consolidate: kWh  migr  SLATAH | migr ratio');
  for (const day of DAYS) {
    const trace = await loadTrace(`${TRACES}/${day}`);
    for (const v of VARIANTS) {
      const t = v.make(trace);
      const thr = simulate(t, { config: CLOUDSIM_CONFIGS['thr-mmt'] }).metrics;
      const ours = simulate(t, { config: CLOUDSIM_CONFIGS.consolidate }).metrics;
      const f = (m: typeof thr): string => `${m.energyKWh.toFixed(1).padStart(6)} ${String(m.migrations).padStart(6)} ${(m.slatah * 100).toFixed(2)} %`;
      console.log(`${day}  ${v.name.padEnd(15)}  ${f(thr)} | ${f(ours)} | ${((ours.migrations / thr.migrations) * 100).toFixed(1)} %`);
    }
  }
}

if (process.argv[2] === '--one') {
  await one(process.argv[3] as string, process.argv[4] as Name);
} else if (process.argv[2] === '--variants') {
  await variants();
} else {
  if (!existsSync(TRACES)) {
    console.error(`no traces at ${TRACES}; set HVMCTL_TRACES to the planetlab directory`);
    process.exit(1);
  }
  const self = fileURLToPath(import.meta.url);
  console.log('day       strategy     wall s  (load  decide)  peak RSS MB  kWh     migrations  SLATAH');
  let ok = true;
  for (const day of DAYS) {
    for (const policy of POLICIES) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', self, '--one', day, policy], { encoding: 'utf8' });
      if (run.status !== 0) {
        console.error(run.stderr);
        process.exit(1);
      }
      const r = JSON.parse(run.stdout) as Record<string, number>;
      ok &&= (r.wallS as number) < 5 && (r.peakRssMB as number) < 300;
      console.log(
        `${day}  ${policy.padEnd(11)}  ${(r.wallS as number).toFixed(2).padStart(6)}  (${(r.loadS as number).toFixed(2)}  ${(r.decideS as number).toFixed(2)})  ` +
          `${(r.peakRssMB as number).toFixed(0).padStart(11)}  ${(r.energyKWh as number).toFixed(2).padStart(6)}  ${String(r.migrations).padStart(10)}  ${((r.slatah as number) * 100).toFixed(2)} %`,
      );
    }
  }
  console.log(ok ? 'every day under 5 s and 300 MB' : 'TARGET MISSED: a day took 5 s or more, or 300 MB or more');
  process.exitCode = ok ? 0 : 1;
}
