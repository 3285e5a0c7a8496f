// Where a replay prints its result: injected by the caller (the CLI passes
// its own IO, which has more), so the replay neither reads argv nor writes to
// the process's stdout itself.
export interface ReplayOutput {
  out(text: string): void;
}
