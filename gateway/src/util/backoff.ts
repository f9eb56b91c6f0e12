/** Exponential backoff with full jitter: attempt 0 waits about `minMs`, doubling up to `maxMs`. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  // Half fixed, half random: never hammer at once after a shared outage, never wait less than half the step.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
