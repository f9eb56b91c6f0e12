/** A stored evidence file, as the retention plan sees it. */
export interface StoredFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * Which files to delete: everything older than maxAgeMs, then the oldest until the rest fits in maxBytes.
 * Pure: the evidence store walks the folder and deletes what this returns.
 */
export function retentionPlan(files: readonly StoredFile[], now: number, limits: { maxAgeMs: number; maxBytes: number }): StoredFile[] {
  const byAge = [...files].sort((a, b) => a.mtimeMs - b.mtimeMs || a.path.localeCompare(b.path));
  const out: StoredFile[] = [];
  let total = files.reduce((s, f) => s + f.size, 0);
  for (const f of byAge) {
    if (now - f.mtimeMs > limits.maxAgeMs || total > limits.maxBytes) {
      out.push(f);
      total -= f.size;
    } else break; // sorted by age: the rest are newer and fit
  }
  return out;
}
