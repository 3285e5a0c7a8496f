// npm run bench:simulate — one simulated day per (day, strategy), each in its own
// process so its peak RSS is its own: wall time (trace loading included) and
// peak resident memory, against the targets (< 5 s, < 300 MB; CloudSim: 51 s, 1.3 GB).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLOUDSIM_CONFIGS, homeReplayConfig, seedReplayConfig } from '../balancer/sim/config.ts';
import { replayHome } from '../balancer/sim/home-replay.ts';
import { homeScenario } from '../balancer/sim/home-scenario.ts';
import { REFERENCES } from '../balancer/sim/reference.ts';
import { repack } from '../balancer/sim/repack.ts';
import { simulate } from '../balancer/sim/simulate.ts';
import { consolidationTargets, targetsVerdict } from '../balancer/sim/targets.ts';
import { loadTrace } from '../balancer/sim/trace.ts';
import { shuffled, VARIANTS } from '../balancer/sim/variants.ts';

const TRACES = process.env.HVMCTL_TRACES ?? new URL('../../shared/traces/planetlab/', import.meta.url).pathname;
const DAYS = ['20110303', '20110306'];
type Name = keyof typeof CLOUDSIM_CONFIGS;
const POLICIES: Name[] = ['consolidate', 'thr-mmt', 'mfped'];

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

/** --variants: each strategy against its yardstick on days it was not tuned on (balancer/sim/variants.ts):
 * consolidate against THR-MMT-0.8 and against the targets of issue 12 with MFPED replayed on the same
 * variant (no CloudSim figure exists for them) on CloudSim's model, home against the seed's rule on the
 * home scenario. */
async function variants(): Promise<void> {
  console.log('home scenario (20 VMs, above 80 % for 10 % of the day unbalanced, a run a minute): seed | home');
  console.log('day       variant          seed: overload-min  migr  remigr  VM-h away | home: overload-min  migr  remigr  VM-h away | home beats seed');
  let beats = true;
  for (const day of DAYS) {
    const trace = await loadTrace(`${TRACES}/${day}`);
    for (const v of [{ name: 'the day itself', make: (t: typeof trace) => t }, ...VARIANTS]) {
      const s = homeScenario(v.make(trace));
      const seed = replayHome(s, seedReplayConfig).metrics;
      const home = replayHome(s, homeReplayConfig).metrics;
      const f = (m: typeof seed): string => `${String(m.overloadMinutes).padStart(5)} ${String(m.migrations).padStart(5)} ${String(m.remigrations).padStart(5)} ${m.vmHoursAway.toFixed(1).padStart(6)}`;
      const ok = home.overloadMinutes < seed.overloadMinutes && home.migrations < seed.migrations;
      beats &&= ok;
      console.log(`${day}  ${v.name.padEnd(15)}  ${f(seed)} | ${f(home)} | ${ok ? 'yes' : 'NO'}`);
    }
  }
  console.log(beats ? 'home beats seed on overload-minutes and migrations everywhere' : 'HOME DOES NOT BEAT SEED somewhere above');
  console.log('\nCloudSim model (800 hosts, a decision every 5 minutes): THR-MMT-0.8 | MFPED | consolidate, and the targets of issue 12 against the MFPED replayed on the variant');
  console.log('day       variant          THR-MMT-0.8: kWh  migr  SLATAH | MFPED: kWh  migr  SLATAH  SLAV | consolidate: kWh  migr  SLATAH  SLAV | kWh / MFPED, migrations / the limit | targets');
  for (const day of DAYS) {
    const trace = await loadTrace(`${TRACES}/${day}`);
    for (const v of VARIANTS) {
      const t = v.make(trace);
      const thr = simulate(t, { config: CLOUDSIM_CONFIGS['thr-mmt'] }).metrics;
      const mfped = simulate(t, { config: CLOUDSIM_CONFIGS.mfped }).metrics;
      const ours = simulate(t, { config: CLOUDSIM_CONFIGS.consolidate }).metrics;
      const f = (m: typeof thr, slav = false): string =>
        `${m.energyKWh.toFixed(1).padStart(6)} ${String(m.migrations).padStart(6)} ${(m.slatah * 100).toFixed(2)} %${slav ? ` ${(m.slav * 100).toFixed(6)} %` : ''}`;
      const targets = consolidationTargets(ours, { source: 'replayed MFPED', energyKWh: mfped.energyKWh, migrations: mfped.migrations, slav: mfped.slav });
      const share = `${(ours.energyKWh / mfped.energyKWh).toFixed(4)}, ${(ours.migrations / (mfped.migrations / 5)).toFixed(3)}`;
      console.log(`${day}  ${v.name.padEnd(15)}  ${f(thr)} | ${f(mfped, true)} | ${f(ours, true)} | ${share.padStart(37)} | ${targetsVerdict(targets)}`);
    }
  }
}

/** --home-settings: the default inventory's calm_window 2 / cooldown 180 s against the schema's 3 / 600 s. */
async function homeSettings(): Promise<void> {
  if (homeReplayConfig.strategy !== 'home') return;
  const base = homeReplayConfig;
  const settings = homeReplayConfig.settings;
  const variants = [
    { name: 'inventory.yaml: calm 2, cooldown 180 s', config: base },
    { name: 'schema default: calm 3, cooldown 600 s', config: { ...base, settings: { ...settings, calmWindow: 3, cooldown: 600 } } },
  ];
  console.log('day       peak share  settings                                  overload-min  migr  remigr  VM-h away');
  for (const day of DAYS) {
    const trace = await loadTrace(`${TRACES}/${day}`);
    for (const peakShare of [0.1, 0.25]) {
      const s = homeScenario(trace, { peakShare });
      for (const v of variants) {
        const m = replayHome(s, v.config).metrics;
        console.log(`${day}  ${peakShare.toFixed(2).padStart(10)}  ${v.name.padEnd(40)}  ${String(m.overloadMinutes).padStart(12)}  ${String(m.migrations).padStart(4)}  ${String(m.remigrations).padStart(6)}  ${m.vmHoursAway.toFixed(1).padStart(9)}`);
      }
    }
  }
}

/** --consolidate-sweep: what the spread, `high`, the cooldown and the per-run limit trade between energy, migrations and SLATAH (both days). */
async function consolidateSweep(): Promise<void> {
  const base = CLOUDSIM_CONFIGS.consolidate;
  if (base.strategy !== 'consolidate') return;
  const s = base.settings;
  const rows = [
    { name: 'default: 10 min doubling per relief in 24 h', config: base },
    { name: 'high 90 % (the inventory default)', config: { ...base, settings: { ...s, high: 0.9 } } },
    { name: 'spread 1.75 σ', config: { ...base, settings: { ...s, spread: 1.75 } } },
    { name: 'spread 1.5 σ', config: { ...base, settings: { ...s, spread: 1.5 } } },
    { name: '1 h doubling (the former default)', config: { ...base, settings: { ...s, cooldown: 3600 } } },
    { name: 'fixed 10 min', config: { ...base, settings: { ...s, cooldownMemory: 0 } } },
    { name: 'fixed 1 h', config: { ...base, settings: { ...s, cooldown: 3600, cooldownMemory: 0 } } },
    { name: 'default, at most 300 moves a run', config: { ...base, maxMigrationsPerRun: 300 } },
  ];
  console.log(`day       ${'setting'.padEnd(42)}     kWh  migrations  SLATAH   SLAV`);
  for (const day of DAYS) {
    const trace = await loadTrace(`${TRACES}/${day}`);
    for (const r of rows) {
      const m = simulate(trace, { config: r.config }).metrics;
      console.log(`${day}  ${r.name.padEnd(42)}  ${m.energyKWh.toFixed(2).padStart(6)}  ${String(m.migrations).padStart(10)}  ${(m.slatah * 100).toFixed(2)} %  ${(m.slav * 100).toFixed(5)} %`);
    }
  }
}

/** --orders [N]: each day with its files in N seeded random orders (balancer/sim/variants.ts shuffled) besides
 * the order CloudSim read them in (balancer/sim/cloudsim-order.ts). CloudSim gives each VM its type by its position in the directory listing, so the
 * order changes the day's demand: THR-MMT, MFPED and consolidate on each, consolidate's energy against
 * MFPED's on the same order, and the targets of issue 12 against that MFPED (as --variants). */
async function orders(count: number): Promise<void> {
  console.log('day       order     THR-MMT kWh | MFPED: kWh   migr  SLATAH | consolidate: kWh  migr  SLATAH | consolidate / MFPED kWh | targets against this MFPED');
  for (const day of DAYS) {
    const trace = await loadTrace(`${TRACES}/${day}`);
    const ratios: number[] = [];
    let allMet = 0;
    for (let seed = 0; seed <= count; seed++) {
      const t = seed === 0 ? trace : shuffled(trace, seed);
      const thr = simulate(t, { config: CLOUDSIM_CONFIGS['thr-mmt'] }).metrics;
      const mfped = simulate(t, { config: CLOUDSIM_CONFIGS.mfped }).metrics;
      const ours = simulate(t, { config: CLOUDSIM_CONFIGS.consolidate }).metrics;
      const ratio = ours.energyKWh / mfped.energyKWh;
      const targets = consolidationTargets(ours, { source: 'replayed MFPED', energyKWh: mfped.energyKWh, migrations: mfped.migrations, slav: mfped.slav });
      if (seed > 0) {
        ratios.push(ratio);
        if (targets.every((x) => x.met)) allMet += 1;
      }
      const f = (m: typeof thr): string => `${m.energyKWh.toFixed(2).padStart(6)} ${String(m.migrations).padStart(6)} ${(m.slatah * 100).toFixed(2)} %`;
      console.log(`${day}  ${(seed === 0 ? trace.order : String(seed)).padEnd(8)}  ${thr.energyKWh.toFixed(2).padStart(11)} | ${f(mfped)} | ${f(ours)} | ${ratio.toFixed(3).padStart(23)} | ${targetsVerdict(targets)}`);
    }
    if (ratios.length > 0) {
      const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
      console.log(
        `${day}  the ${ratios.length} shuffled orders: consolidate / MFPED ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}, mean ${mean.toFixed(3)}; below 1 on ${ratios.filter((r) => r < 1).length}; all four targets met on ${allMet}`,
      );
    }
  }
}

/** --repack: what mean + z σ needs when every VM may move at every decision for free (balancer/sim/repack.ts),
 * against the consolidate strategy at the same z, which pays for its moves, and MFPED's energy. Both count
 * energy from CloudSim's first update (t = 300 s), as CloudSim does. */
async function repackYardstick(): Promise<void> {
  const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const base = CLOUDSIM_CONFIGS.consolidate;
  if (base.strategy !== 'consolidate') return;
  console.log('day       z σ    repack: hosts after 1 h  over at decision                  kWh | consolidate: hosts after 1 h  kWh     migrations  SLATAH | MFPED kWh');
  for (const day of DAYS) {
    const trace = await loadTrace(`${TRACES}/${day}`);
    const mfped = REFERENCES[day]?.find((r) => r.policy === 'MFPED')?.energyKWh;
    for (const z of [2, 1.75, 1.5]) {
      const r = simulate(trace, { config: { ...base, settings: { ...base.settings, spread: z } } });
      const p = repack(trace, z);
      // after the first hour, for both (the replay's series starts at t = 0, the repack's at t = 300 s)
      const hosts = mean(r.series.activeHosts.slice(12));
      const repacked = mean(p.hosts.slice(11));
      console.log(
        `${day}  ${z.toFixed(2)}   ${repacked.toFixed(1).padStart(23)}  ${(p.overShare * 100).toFixed(2).padStart(14)} %  ${p.energyKWh.toFixed(2).padStart(19)} | ` +
          `${hosts.toFixed(1).padStart(28)}  ${r.metrics.energyKWh.toFixed(2)}  ${String(r.metrics.migrations).padStart(10)}  ${(r.metrics.slatah * 100).toFixed(2)} % | ${mfped?.toFixed(2) ?? '–'}`,
      );
    }
  }
}

if (process.argv[2] === '--repack') {
  await repackYardstick();
} else if (process.argv[2] === '--consolidate-sweep') {
  await consolidateSweep();
} else if (process.argv[2] === '--home-settings') {
  await homeSettings();
} else if (process.argv[2] === '--one') {
  await one(process.argv[3] as string, process.argv[4] as Name);
} else if (process.argv[2] === '--variants') {
  await variants();
} else if (process.argv[2] === '--orders') {
  const count = Number(process.argv[3] ?? 12);
  if (!Number.isInteger(count) || count < 0 || count > 1000) {
    console.error(`--orders N: N is how many shuffled orders per day, a whole number from 0 to 1000 (got ${JSON.stringify(process.argv[3])})`);
    process.exit(2);
  }
  await orders(count);
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
