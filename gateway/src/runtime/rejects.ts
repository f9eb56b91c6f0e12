import type { Logger } from 'pino';
import type { RejectReason } from '../ingest/types.js';

const MAX_TRACKED = 10_000;
const LOG_EVERY_MS = 60_000;

/**
 * Counts refused inputs per device and reason, and logs at most once per device per minute
 * (a broken sensor must not flood the log). The map is bounded: beyond it, unknown ids share one row.
 */
export class RejectCounter {
  private readonly byDevice = new Map<string, Partial<Record<RejectReason, number>>>();
  private readonly lastLogged = new Map<string, number>();
  /** The latest refusal per device with its detail, for status views (the log carries one a minute). */
  private readonly last = new Map<string, { at: number; reason: RejectReason; detail: string }>();
  total = 0;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  reject(deviceId: string, reason: RejectReason, detail: string): void {
    this.total++;
    const key = this.byDevice.has(deviceId) || this.byDevice.size < MAX_TRACKED ? deviceId : '(other)';
    const row = this.byDevice.get(key) ?? {};
    row[reason] = (row[reason] ?? 0) + 1;
    this.byDevice.set(key, row);
    const t = this.now();
    this.last.set(key, { at: t, reason, detail });
    const last = this.lastLogged.get(key);
    if (last === undefined || t - last >= LOG_EVERY_MS) {
      if (this.lastLogged.size >= MAX_TRACKED) this.lastLogged.clear();
      this.lastLogged.set(key, t);
      this.log.warn({ device: deviceId, reason, detail }, 'input rejected');
    }
  }

  lastFor(deviceId: string): { at: number; reason: RejectReason; detail: string } | undefined {
    return this.last.get(deviceId);
  }

  forDevice(deviceId: string): Partial<Record<RejectReason, number>> {
    return { ...this.byDevice.get(deviceId) };
  }

  byReason(): Partial<Record<RejectReason, number>> {
    const out: Partial<Record<RejectReason, number>> = {};
    for (const row of this.byDevice.values()) for (const [r, n] of Object.entries(row)) out[r as RejectReason] = (out[r as RejectReason] ?? 0) + n;
    return out;
  }

  all(): Map<string, Partial<Record<RejectReason, number>>> {
    return this.byDevice;
  }
}
