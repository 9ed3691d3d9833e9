import { z } from 'zod';

/**
 * OTP-style restart intensity as pure functions of time: a child may restart at most
 * `maxRestarts` times within `withinMs`; one more and it stays down. The registry sets it
 * (`restartIntensity:`, a strategy's `restart:`); the kill switch's triggers count with it too.
 */
export const RestartIntensitySchema = z.strictObject({
  maxRestarts: z.number().int().nonnegative(),
  withinSeconds: z.number().positive(),
});
export type RestartIntensity = z.infer<typeof RestartIntensitySchema>;

/** The restart history after recording one at `now`, forgetting restarts outside the window. */
export function addRestart(history: readonly number[], now: number, withinMs: number): number[] {
  return [...history.filter((t) => now - t < withinMs), now];
}

export function intensityExceeded(history: readonly number[], policy: RestartIntensity): boolean {
  return history.length > policy.maxRestarts;
}
