// Windows over a history of measurements (oldest first) plus the current one.

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
