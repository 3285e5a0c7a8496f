// Prediction against reality: a run that migrated keeps the host loads its plan
// predicted (Migration.predicted, from decide()); the next run compares them
// with what it measures. Pure: the cycle keeps the pending predictions in the
// state file and logs the check; `balance status --json` shows the last one.
import type { Migration } from './types.ts';

export interface PredictionCheck {
  readonly host: string;
  /** Utilisations 0..1. */
  readonly predicted: number;
  readonly measured: number;
  /** measured - predicted, in utilisation (0.05 = 5 points over). */
  readonly error: number;
}

/** Host -> predicted utilisation after the migrations that succeeded (the last word per host wins). */
export function predictionsOf(done: readonly Migration[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of done) {
    if (!m.predicted) continue;
    out[m.from] = m.predicted.from;
    out[m.to] = m.predicted.to;
  }
  return out;
}

export function checkPredictions(predicted: Readonly<Record<string, number>>, measured: ReadonlyMap<string, number>): PredictionCheck[] {
  const rows: PredictionCheck[] = [];
  for (const [host, p] of Object.entries(predicted)) {
    const m = measured.get(host);
    if (m === undefined) continue; // unreachable now: nothing to compare
    rows.push({ host, predicted: p, measured: Math.round(m * 10000) / 10000, error: Math.round((m - p) * 10000) / 10000 });
  }
  return rows;
}

/** Count, mean signed and mean absolute error of a set of checks. */
export function errorSummary(rows: readonly { readonly error: number }[]): { count: number; mean: number; meanAbs: number } {
  if (rows.length === 0) return { count: 0, mean: 0, meanAbs: 0 };
  let sum = 0;
  let abs = 0;
  for (const r of rows) {
    sum += r.error;
    abs += Math.abs(r.error);
  }
  return { count: rows.length, mean: sum / rows.length, meanAbs: abs / rows.length };
}
