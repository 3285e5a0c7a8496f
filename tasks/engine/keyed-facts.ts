// A task whose facts are a list computed from the host (a unit per service,
// a process per daemon) names each by the fact's own key, and reads its value
// back by the fact itself: no name is built by hand twice, and the value has
// the fact's type. (A task with fixed facts names them in its record:
// `{ init: initProcess }`, read as `facts.init`.)
import type { Fact } from './types.ts';

/** The facts, each under its own key, in the order given. */
export function keyed(facts: readonly Fact<unknown>[]): Record<string, Fact<unknown>> {
  return Object.fromEntries(facts.map((f) => [f.key, f]));
}

/** The value a task was handed for `fact` (named by `keyed`); undefined when it was not gathered. */
export function valueOf<T>(values: Readonly<Record<string, unknown>>, fact: Fact<T>): T | undefined {
  return values[fact.key] as T | undefined;
}
