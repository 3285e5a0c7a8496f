// Power at a utilisation, linear between the 11 points of a host's model
// (CloudSim's PowerModelSpecPower). Without a model a host is assumed to draw
// in proportion to its capacity, so bigger hosts cost more to fill.

export function powerAt(model: readonly number[] | undefined, utilisation: number, capacity: number): number {
  if (!model || model.length !== 11) return capacity * (0.7 + 0.3 * utilisation);
  const u = Math.min(1, Math.max(0, utilisation));
  const i = Math.min(9, Math.floor(u * 10));
  const lo = model[i] ?? 0;
  const hi = model[i + 1] ?? lo;
  return lo + (hi - lo) * (u * 10 - i);
}
