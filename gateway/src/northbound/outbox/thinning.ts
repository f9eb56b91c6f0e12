/** A telemetry row as the quota policy sees it. */
export interface ThinCandidate {
  seq: number;
  device: string;
}

/** Seq ranges (after, upTo] that a destination holds in memory (read or in flight): never deleted under it. */
export type Held = Array<{ after: number; upTo: number }>;

const isHeld = (seq: number, held: Held) => held.some((h) => seq > h.after && seq <= h.upTo);

/**
 * Thinning: of each device's messages in this chunk (oldest first), keep the 1st, (N+1)th, (2N+1)th, ...
 * and delete the rest, so every device keeps a regular 1-in-N record of the outage rather than losing
 * its oldest hours. Returns the seqs to delete.
 */
export function planThinning(chunk: readonly ThinCandidate[], keepEvery: number, held: Held = []): number[] {
  const seen = new Map<string, number>();
  const out: number[] = [];
  for (const r of chunk) {
    const i = seen.get(r.device) ?? 0;
    seen.set(r.device, i + 1);
    if (i % keepEvery !== 0 && !isHeld(r.seq, held)) out.push(r.seq);
  }
  return out;
}

/** Oldest first: the seqs of `chunk` (already oldest first) not held by a destination, at most `max`. */
export function planOldestFirst(chunk: readonly { seq: number }[], max: number, held: Held = []): number[] {
  const out: number[] = [];
  for (const r of chunk) {
    if (out.length >= max) break;
    if (!isHeld(r.seq, held)) out.push(r.seq);
  }
  return out;
}
