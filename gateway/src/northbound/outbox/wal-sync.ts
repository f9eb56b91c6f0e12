import { closeSync, fdatasync, fdatasyncSync, fstatSync, openSync } from 'node:fs';
import { SyncTimes } from './sync-times.js';

/**
 * Makes an SQLite write-ahead log durable off the event loop. The outbox runs its connection at
 * `synchronous = NORMAL` (a commit only writes the WAL) and calls `sync` after each commit: one
 * fdatasync of the WAL on libuv's thread pool covers every commit written before it started, which is
 * what `FULL` does at each commit, without stalling ingest ~1 ms per commit (bench:ingest). SQLite
 * still syncs at checkpoints, as it does at NORMAL. Calls that arrive during a sync share the next one.
 */
export class WalSync {
  private fd?: number;
  private inFlight: Array<(err?: Error) => void> | undefined;
  private queued: Array<(err?: Error) => void> = [];
  private closed = false;

  /** How long each sync took, queueing on libuv's thread pool included: what an acknowledgement waits for. */
  readonly times = new SyncTimes();

  constructor(private readonly walPath: string) {}

  /** True while a sync is running or waiting to run. */
  get busy(): boolean {
    return this.inFlight !== undefined || this.queued.length > 0;
  }

  /** Calls back once everything written to the WAL before this call is on disk (or with why it is not). */
  sync(cb: (err?: Error) => void): void {
    this.queued.push(cb);
    if (!this.inFlight) this.start();
  }

  private start(): void {
    const batch = (this.inFlight = this.queued);
    this.queued = [];
    let fd: number;
    try {
      fd = this.file();
    } catch (e) {
      return this.finish(batch, e as Error);
    }
    const started = performance.now();
    fdatasync(fd, (err) => {
      this.times.record((performance.now() - started) / 1000);
      if (this.inFlight === batch) this.finish(batch, err ?? undefined);
    });
  }

  private finish(batch: Array<(err?: Error) => void>, err?: Error): void {
    this.inFlight = undefined;
    for (const cb of batch) cb(err);
    if (this.queued.length && !this.closed) this.start();
  }

  /** The WAL, opened once; again if SQLite replaced the file (it deletes it only when the last connection closes). */
  private file(): number {
    if (this.fd !== undefined && fstatSync(this.fd).nlink > 0) return this.fd;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.fd = openSync(this.walPath, 'r');
    return this.fd;
  }

  /** Syncs now, on this thread, and answers every waiting call (at close). */
  syncNow(): void {
    const waiting = [...(this.inFlight ?? []), ...this.queued];
    this.inFlight = undefined;
    this.queued = [];
    if (!waiting.length) return;
    let err: Error | undefined;
    const started = performance.now();
    try {
      fdatasyncSync(this.file());
    } catch (e) {
      err = e as Error;
    }
    this.times.record((performance.now() - started) / 1000);
    for (const cb of waiting) cb(err);
  }

  close(): void {
    this.syncNow();
    this.closed = true;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
