/**
 * OTP-style restart intensity as pure functions of time: a child may restart at most
 * `maxRestarts` times within `withinMs`; one more and it stays down.
 */
export type RestartIntensity = { maxRestarts: number; withinSeconds: number };

/** The restart history after recording one at `now`, forgetting restarts outside the window. */
export function addRestart(history: readonly number[], now: number, withinMs: number): number[] {
  return [...history.filter((t) => now - t < withinMs), now];
}

export function intensityExceeded(history: readonly number[], policy: RestartIntensity): boolean {
  return history.length > policy.maxRestarts;
}
