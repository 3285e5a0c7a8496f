// The consolidation targets of issue 12, against MFPED on the same day:
// energy at most MFPED's, migrations and SLAV at most a fifth of MFPED's,
// SLATAH at most 1 %. Pure: figures in, verdicts out.
import type { Metrics } from './metrics.ts';

export interface Yardstick {
  /** Where the figures come from: "CloudSim MFPED" or "replayed MFPED". */
  readonly source: string;
  readonly energyKWh: number;
  readonly migrations: number;
  readonly slav: number;
}

export interface Target {
  readonly name: string;
  readonly value: number;
  readonly limit: number;
  readonly met: boolean;
}

export function consolidationTargets(m: Metrics, y: Yardstick): Target[] {
  const rows = [
    { name: 'energy kWh ≤ MFPED', value: m.energyKWh, limit: y.energyKWh },
    { name: 'migrations ≤ MFPED / 5', value: m.migrations, limit: y.migrations / 5 },
    { name: 'SLAV ≤ MFPED / 5', value: m.slav, limit: y.slav / 5 },
    { name: 'SLATAH ≤ 1 %', value: m.slatah, limit: 0.01 },
  ];
  return rows.map((r) => ({ ...r, met: r.value <= r.limit }));
}

/** A target's value or limit as printed: kWh to 0.01, migrations whole, SLAV and SLATAH as percentages. */
export function targetValue(name: string, v: number): string {
  return name.startsWith('energy') ? v.toFixed(2) : name.startsWith('migrations') ? Math.round(v).toLocaleString('en') : `${(v * 100).toFixed(name.startsWith('SLAV') ? 5 : 2)} %`;
}

/** How far a value is from its limit, relative to the limit: "0.04 % over", "12 % under", "at the
 * limit". A miss by a hair and a miss by a mile must not read alike. */
export function targetMargin(t: Target): string {
  if (t.value === t.limit) return 'at the limit';
  if (t.limit === 0) return 'over a limit of 0';
  const r = Math.abs(t.value / t.limit - 1) * 100;
  const digits = r < 0.1 ? 2 : r < 10 ? 1 : 0;
  return `${r.toFixed(digits)} % ${t.value > t.limit ? 'over' : 'under'}`;
}

/** One line for a run: "4 of 4 met", or "3 of 4 met (missed: energy kWh ≤ MFPED, 0.3 % over)". */
export function targetsVerdict(targets: readonly Target[]): string {
  const missed = targets.filter((t) => !t.met);
  const met = `${targets.length - missed.length} of ${targets.length} met`;
  return missed.length === 0 ? met : `${met} (missed: ${missed.map((t) => `${t.name}, ${targetMargin(t)}`).join('; ')})`;
}

export function targetsText(targets: readonly Target[], y: Yardstick): string {
  const lines = targets.map(
    (t) => `  ${t.met ? 'met   ' : 'MISSED'}  ${t.name.padEnd(24)} ${targetValue(t.name, t.value).padStart(12)}  (limit ${targetValue(t.name, t.limit)}, ${targetMargin(t)})`,
  );
  const met = targets.filter((t) => t.met).length;
  return [`targets against ${y.source}: ${met} of ${targets.length} met`, ...lines].join('\n');
}
