import type { Logger } from 'pino';
import type { RejectReason } from '../model/readings.js';
import { capText } from '../util/cap.js';
import { LogBudget } from '../util/log-budget.js';

const MAX_TRACKED = 10_000;
const LOG_EVERY_MS = 60_000;
/** Log lines per reason and minute over all devices: a flood of refusals must not become a flood of log. */
const LOG_PER_REASON = 20;
/** Ids and details come from outside (user names, topics, payload excerpts): stored and logged capped. */
const MAX_ID_CHARS = 80;
const MAX_DETAIL_CHARS = 500;

/**
 * The one row for every sender the gateway does not know (unknown MQTT user names, unknown DevEUIs): their
 * names are the sender's choice, so they never become keys. The log line still names the (capped) sender.
 */
export const UNKNOWN_SOURCE = '(unknown)';

/** The row of further ids once MAX_TRACKED rows exist. */
const OTHER = '(other)';

/**
 * Counts refused inputs per device and reason, and logs at most once per device per minute (a broken sensor
 * must not flood the log) and at most LOG_PER_REASON lines per reason per minute, then one line saying how
 * many were left out. The map is bounded: beyond it, further ids share one row. Ids and details are capped.
 */
export class RejectCounter {
  private readonly byDevice = new Map<string, Partial<Record<RejectReason, number>>>();
  private readonly lastLogged = new Map<string, number>();
  /** The latest refusal per device with its detail, for status views (the log carries one a minute). */
  private readonly last = new Map<string, { at: number; reason: RejectReason; detail: string }>();
  private readonly windows = new Map<RejectReason, LogBudget>();
  private timer?: NodeJS.Timeout;
  total = 0;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  reject(deviceId: string, reason: RejectReason, detail: string): void {
    this.total++;
    const id = capText(deviceId, MAX_ID_CHARS);
    const text = capText(detail, MAX_DETAIL_CHARS);
    const key = this.byDevice.has(id) || this.byDevice.size < MAX_TRACKED ? id : OTHER;
    const row = this.byDevice.get(key) ?? {};
    row[reason] = (row[reason] ?? 0) + 1;
    this.byDevice.set(key, row);
    const t = this.now();
    this.last.set(key, { at: t, reason, detail: text });
    this.flush(t);
    // A shared row stands for many senders: only the per-reason limit holds its lines back.
    const last = key === UNKNOWN_SOURCE || key === OTHER ? undefined : this.lastLogged.get(key);
    if (last !== undefined && t - last < LOG_EVERY_MS) return;
    let w = this.windows.get(reason);
    if (!w) this.windows.set(reason, (w = new LogBudget(LOG_PER_REASON, LOG_EVERY_MS)));
    if (!w.admit(t)) {
      this.armFlush();
      return;
    }
    if (this.lastLogged.size >= MAX_TRACKED) this.lastLogged.clear();
    this.lastLogged.set(key, t);
    this.log.warn({ device: id, reason, detail: text }, 'input rejected');
  }

  /** Closes the log windows older than a minute, with one line for each that left lines out. */
  flush(t = this.now()): void {
    for (const [reason, w] of this.windows) {
      if (!w.expired(t)) continue;
      this.windows.delete(reason);
      const held = w.takeHeld();
      if (held) this.log.warn({ reason, suppressed: held }, `input rejected: ${held} more "${reason}" not logged in the last minute (all counted in status)`);
    }
  }

  /** The summary of a flood comes a minute later even if nothing else is refused by then. */
  private armFlush(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
      if ([...this.windows.values()].some((w) => w.holding)) this.armFlush();
    }, LOG_EVERY_MS);
    this.timer.unref();
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
