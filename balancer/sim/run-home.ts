// `balance simulate --strategy home|seed`: the home scenario, the named
// strategy beside the other one and no balancing, all computed in this run.
import { basename } from 'node:path';
import { type ReplayOutput, writeReport } from './output.ts';
import { homeReplayConfig, seedReplayConfig } from './config.ts';
import { homeReport } from './home-report.ts';
import { replayHome, type HomeReplay } from './home-replay.ts';
import { homeScenario, OVERLOAD } from './home-scenario.ts';
import { homeTable } from './home-table.ts';
import { predictionText } from './table.ts';
import { knownDay } from './reference.ts';
import type { ReplayConfig } from './strategies.ts';
import { loadTrace } from './trace.ts';

export interface HomeRun {
  readonly dir: string;
  readonly config: ReplayConfig;
  readonly vms: number;
  readonly peakShare: number;
  readonly json: boolean;
  readonly report: string | undefined;
}

export async function runHomeScenario(run: HomeRun, io: ReplayOutput): Promise<number> {
  const trace = await loadTrace(run.dir);
  const s = homeScenario(trace, { vms: run.vms, peakShare: run.peakShare });
  const day = knownDay(run.dir) ?? basename(run.dir);
  const other = run.config.strategy === 'seed' ? homeReplayConfig : seedReplayConfig;
  const unbalanced = replayHome(s, { ...homeReplayConfig, maxMigrationsPerRun: 0 });
  const rows: { label: string; replay: HomeReplay }[] = [
    { label: run.config.strategy, replay: replayHome(s, run.config) },
    { label: `${other.strategy} (same run)`, replay: replayHome(s, other) },
    { label: 'no balancing', replay: unbalanced },
  ];
  const mine = rows[0] as { label: string; replay: HomeReplay };
  const table = homeTable(rows);
  const scenario = { vms: s.vms.length, capacityMips: Math.round(s.capacity), peakShare: s.peakShare, overload: OVERLOAD, stepS: s.step, runs: s.runs };
  if (run.report) await writeReport(run.report, homeReport(`${day}: ${run.config.strategy} on one overloaded home and two helpers`, s, mine.replay, table, unbalanced));
  if (run.json) {
    const { strategy, settings, ...common } = run.config;
    const references = rows.slice(1).map((r) => ({ label: r.label, metrics: r.replay.metrics }));
    io.out(JSON.stringify({ trace: run.dir, day, scenario: 'home', scenarioSettings: scenario, strategy, settings, common, metrics: mine.replay.metrics, references }, null, 2));
    return 0;
  }
  io.out(
    `home scenario, ${day}: ${s.vms.length} VMs on one home of ${scenario.capacityMips} MIPS (above ${OVERLOAD * 100} % for ${Math.round(s.peakShare * 100)} % of the day unbalanced), ` +
      `two empty helpers, a run every ${s.step} s (${s.runs} runs); strategy ${run.config.strategy} ${JSON.stringify(run.config.settings)}`,
  );
  io.out(table);
  io.out(`prediction against reality (${run.config.strategy}): ${predictionText(mine.replay.metrics.prediction)}`);
  if (run.report) io.out(`report written to ${run.report}`);
  return 0;
}
