/** Exponential backoff with equal jitter: attempt 1 waits about minMs, doubling up to maxMs. */
export function backoffMs(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const d = Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(d / 2 + (random() * d) / 2);
}
