// Time, injected: the wall clock (Unix ms, for the snapshot and the log), a
// monotonic clock (ms, for measuring windows) and sleeping.
export interface Clock {
  nowMs(): number;
  monotonicMs(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
