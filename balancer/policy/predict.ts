// Predictions over a short history window, pure arithmetic.

/** Mean and population standard deviation; [0, 0] for an empty list. */
export function meanStdev(values: readonly number[]): [number, number] {
  if (values.length === 0) return [0, 0];
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) * (v - mean);
  return [mean, Math.sqrt(sq / values.length)];
}

/** The last `n` values of a history (oldest first) followed by `current`. */
export function windowOf(history: readonly number[] | undefined, current: number, n: number): number[] {
  const past = history ?? [];
  const take = Math.max(0, n - 1);
  const out = past.slice(Math.max(0, past.length - take));
  out.push(current);
  return out;
}

/** True when every value of the last `n` measurements (history + current) satisfies `test`,
 * and there are at least `n` of them. */
export function sustained(
  history: readonly number[] | undefined,
  current: number,
  n: number,
  test: (value: number) => boolean,
): boolean {
  const window = windowOf(history, current, n);
  if (window.length < Math.max(1, n)) return false;
  return window.every(test);
}

/** Least-squares slope per step over the values (0 for fewer than two). */
export function slope(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  let my = 0;
  for (const v of values) my += v;
  my /= n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i] ?? 0;
    num += (i - mx) * (v - my);
    den += (i - mx) * (i - mx);
  }
  return num / den;
}
