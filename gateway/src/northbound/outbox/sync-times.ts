/**
 * Upper bounds, in seconds, of the buckets WAL sync durations are counted in: from SSDs that sync in a fraction of
 * a millisecond to SD cards that stall for seconds as they wear out.
 */
export const SYNC_BUCKETS_S: readonly number[] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** How long the outbox's WAL syncs took since the gateway started (every acknowledgement waits for one). */
export interface SyncTimesStats {
  syncs: number;
  seconds: number;
  slowestSeconds: number;
  /**
   * Per bucket of `SYNC_BUCKETS_S`: the syncs that took at most its bound and more than the bound before it;
   * one more entry at the end: the syncs slower than every bound.
   */
  counts: number[];
}

/** Counts WAL sync durations into fixed buckets (a histogram that never grows). */
export class SyncTimes {
  private readonly counts: number[] = new Array<number>(SYNC_BUCKETS_S.length + 1).fill(0);
  private syncs = 0;
  private seconds = 0;
  private slowest = 0;

  record(seconds: number): void {
    let i = 0;
    while (i < SYNC_BUCKETS_S.length && seconds > SYNC_BUCKETS_S[i]!) i++;
    this.counts[i]!++;
    this.syncs++;
    this.seconds += seconds;
    if (seconds > this.slowest) this.slowest = seconds;
  }

  stats(): SyncTimesStats {
    return { syncs: this.syncs, seconds: this.seconds, slowestSeconds: this.slowest, counts: [...this.counts] };
  }
}

/** The syncs counted in `later` and not yet in `earlier` (two stats of one gateway), per bucket. */
export function countsSince(earlier: readonly number[], later: readonly number[]): number[] {
  return later.map((n, i) => n - (earlier[i] ?? 0));
}

/**
 * The bound of the bucket that holds the q-quantile of `counts` (at least that fraction of the syncs took no
 * longer), in seconds; Infinity when it is among the syncs slower than every bound; undefined without syncs.
 */
export function syncQuantile(counts: readonly number[], q: number): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (!total) return undefined;
  const want = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= want) return i < SYNC_BUCKETS_S.length ? SYNC_BUCKETS_S[i]! : Infinity;
  }
  return Infinity;
}
