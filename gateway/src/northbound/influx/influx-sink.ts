import { HttpError, InfluxDB, type WriteApi } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import type { Destination } from '../outbox/destination.js';
import { backoffDelay } from '../../util/backoff.js';
import type { InfluxConfig } from './config.js';
import { telemetryLine } from './line.js';

export interface InfluxSinkStats {
  url: string;
  bucket: string;
  /** Telemetry messages stored in the outbox and not yet written. */
  backlog: number;
  /** Points written since start. */
  written: number;
  /** Points the database refused as invalid (HTTP 400/422): logged and skipped. */
  rejected: number;
  failures: number;
  state: 'ok' | 'retrying';
  lastError?: string;
  lastWriteAt?: string;
}

const LOG_EVERY_MS = 60_000;

/**
 * Writes telemetry to InfluxDB (or anything that speaks /api/v2/write) from the outbox: one batch in
 * memory at a time, read from disk; written batches are marked delivered, failed ones stay on disk and
 * are retried with backoff. While the database is down, points wait in the same durable store as
 * everything else (under the same quota and time-to-live), never in memory.
 */
export class InfluxSink {
  private readonly api: WriteApi;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private attempt = 0;
  private stopped = false;
  private lastLogAt = 0;
  private lastError?: string;
  private lastWriteAt?: number;
  private readonly counters = { written: 0, rejected: 0, failures: 0 };

  constructor(
    private readonly cfg: InfluxConfig,
    private readonly dest: Destination,
    private readonly log: Logger,
  ) {
    const client = new InfluxDB({
      url: cfg.url,
      ...(cfg.token && { token: cfg.token }),
      timeout: cfg.timeoutMs,
      transportOptions: { rejectUnauthorized: cfg.rejectUnauthorized },
    });
    // Batching and retries are ours (from disk): the client sends exactly what it is given, once.
    this.api = client.getWriteApi(cfg.org, cfg.bucket, 'ms', {
      batchSize: cfg.batchSize + 1,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: cfg.batchSize + 1,
      writeFailed: (err: Error) => Promise.reject(err),
    });
  }

  start(): void {
    this.dest.onAppend(() => this.schedule(this.cfg.flushIntervalMs));
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.running || this.timer) return;
    const delay = this.dest.pending.telemetry >= this.cfg.batchSize && this.attempt === 0 ? 0 : delayMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.cycle().then(
        (next) => {
          this.running = undefined;
          if (next !== undefined) this.schedule(next);
        },
        (e: Error) => {
          this.running = undefined;
          this.log.error({ err: e.message }, 'influx: sink cycle failed');
          this.schedule(this.cfg.retry.maxMs);
        },
      );
    }, delay);
    this.timer.unref();
  }

  /** Writes one batch; returns when to run again (undefined: wait for new messages). */
  private async cycle(): Promise<number | undefined> {
    const rows = this.dest.read('telemetry', this.dest.through.telemetry, this.cfg.batchSize);
    if (!rows.length) return undefined;
    const lines: string[] = [];
    for (const r of rows) {
      try {
        const line = telemetryLine(JSON.parse(r.payload) as Parameters<typeof telemetryLine>[0]);
        if (line) lines.push(line);
      } catch {
        this.counters.rejected++; // not a telemetry message we can read: nothing to write
      }
    }
    let next = this.cfg.flushIntervalMs;
    try {
      if (lines.length) {
        this.api.writeRecords(lines);
        await this.api.flush();
      }
      this.counters.written += lines.length;
      this.delivered(rows[rows.length - 1]!.seq, rows.length);
      if (rows.length === this.cfg.batchSize) next = 0;
    } catch (e) {
      const status = e instanceof HttpError ? e.statusCode : undefined;
      const msg = e instanceof Error ? e.message : String(e);
      if (status === 400 || status === 422) {
        // The database refuses these points as invalid (e.g. a field changed type): retrying cannot help.
        this.counters.rejected += lines.length;
        this.log.error({ url: this.cfg.url, status, err: msg, points: lines.length }, 'influx: the database refused a batch as invalid; skipped');
        this.delivered(rows[rows.length - 1]!.seq, rows.length);
        next = 0;
      } else {
        this.counters.failures++;
        this.lastError = status ? `HTTP ${status}: ${msg}` : msg;
        this.dest.release();
        next = backoffDelay(this.attempt++, this.cfg.retry.minMs, this.cfg.retry.maxMs);
        if (Date.now() - this.lastLogAt > LOG_EVERY_MS) {
          this.lastLogAt = Date.now();
          this.log.warn({ url: this.cfg.url, err: this.lastError, backlog: this.dest.pending.telemetry, retryInMs: next }, 'influx: write failed; the points wait in the outbox and are retried');
        }
      }
    }
    return this.dest.pending.telemetry > 0 ? next : undefined;
  }

  private delivered(seq: number, count: number): void {
    if (this.attempt > 0) this.log.info({ url: this.cfg.url, backlog: this.dest.pending.telemetry }, 'influx: writing again');
    this.attempt = 0;
    this.lastError = undefined;
    this.lastWriteAt = Date.now();
    this.dest.delivered('telemetry', seq, count);
  }

  stats(): InfluxSinkStats {
    return {
      url: this.cfg.url,
      bucket: this.cfg.bucket,
      backlog: this.dest.pending.telemetry,
      ...this.counters,
      state: this.attempt > 0 ? 'retrying' : 'ok',
      ...(this.lastError && { lastError: this.lastError }),
      ...(this.lastWriteAt && { lastWriteAt: new Date(this.lastWriteAt).toISOString() }),
    };
  }

  /** Stops after the write in progress (what is unwritten stays in the outbox). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.api.close().catch(() => undefined);
  }
}
