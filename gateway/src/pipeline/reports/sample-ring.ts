import type { CanonicalMetric } from '../../model/readings.js';
import type { Sample } from './evidence.js';

/** One metric's values in the ring, slot by slot. */
interface Column {
  name: string;
  /** Which sample (its number) wrote each slot: a slot written by an older sample holds no value for this one. */
  writtenBy: Float64Array;
  numbers: Float64Array;
  /** Values that are not numbers (booleans, strings), else undefined. */
  others: Array<boolean | string | undefined>;
  units: Array<string | undefined>;
}

/**
 * The latest samples of one device, for the readings evidence of its reports, kept column by column in
 * preallocated arrays. A ring of `{ at, metrics }` objects held each device's last 20 messages for ~10 s at
 * bench:ingest's rate, so every telemetry's metrics objects outlived the young generation and were copied
 * into the old one (~0.5 MB/s, and more work for every major GC); a number written here allocates nothing.
 */
export class SampleRing {
  private readonly at: Float64Array;
  private readonly columns: Column[] = [];
  private readonly byName = new Map<string, Column>();
  /** Samples added so far; sample number n (from 1) sits in slot (n - 1) % capacity. */
  private written = 0;

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`sample ring capacity must be a positive integer, got ${capacity}`);
    this.at = new Float64Array(capacity);
  }

  get size(): number {
    return Math.min(this.written, this.capacity);
  }

  /** The time of the newest sample, or undefined before the first. */
  get lastAt(): number | undefined {
    return this.written ? this.at[(this.written - 1) % this.capacity] : undefined;
  }

  add(at: number, metrics: Record<string, CanonicalMetric>): void {
    const no = ++this.written;
    const slot = (no - 1) % this.capacity;
    this.at[slot] = at;
    for (const name in metrics) {
      const m = metrics[name]!;
      const c = this.column(name);
      c.writtenBy[slot] = no;
      if (typeof m.value === 'number') {
        c.numbers[slot] = m.value;
        c.others[slot] = undefined;
      } else c.others[slot] = m.value;
      c.units[slot] = m.unit;
    }
  }

  /** The samples held, oldest first, as evidence writes them. */
  samples(): Sample[] {
    const out: Sample[] = [];
    for (let no = Math.max(1, this.written - this.capacity + 1); no <= this.written; no++) {
      const slot = (no - 1) % this.capacity;
      const metrics: Sample['metrics'] = {};
      for (const c of this.columns) {
        if (c.writtenBy[slot] !== no) continue;
        const other = c.others[slot];
        const unit = c.units[slot];
        metrics[c.name] = { value: other ?? c.numbers[slot]!, ...(unit !== undefined && { unit }) };
      }
      out.push({ at: this.at[slot]!, metrics });
    }
    return out;
  }

  private column(name: string): Column {
    let c = this.byName.get(name);
    if (!c) {
      const n = this.capacity;
      c = { name, writtenBy: new Float64Array(n), numbers: new Float64Array(n), others: new Array(n).fill(undefined), units: new Array(n).fill(undefined) };
      this.byName.set(name, c);
      this.columns.push(c);
    }
    return c;
  }
}
