// Small pure formatters for the reasons a person reads.
export function pct(fraction: number): string {
  return `${Math.round(fraction * 100)} %`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
