import type { Db } from '../store/db.js';
import { getMeta } from '../store/db.js';
import type { DeliveryClass, Outbound, UplinkSink } from './outbound.js';
import type { Sequence } from './stamper.js';

/** What the outbox needs from the connection to the central broker. */
export interface Publisher {
  readonly connected: boolean;
  /** Publishes; `done` runs on PUBACK (QoS 1) or when written (QoS 0), with an error if it failed. */
  publish(topic: string, payload: string, qos: 0 | 1, retain: boolean, done: (err?: Error) => void): void;
  on(event: 'connect' | 'offline', listener: () => void): void;
}

interface Row {
  seq: number;
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: 0 | 1;
  class: DeliveryClass;
}

export interface OutboxStats {
  backlog: number;
  inflight: number;
  sent: number;
  acked: number;
}

/**
 * Durable store-and-forward queue in SQLite. A message is committed before anything acknowledges it
 * (see `whenDurable`), published in seq order, and deleted only when the broker acknowledges it.
 * Commits are grouped per event-loop turn so thousands of messages per second cost a few fsyncs.
 */
export class SqliteOutbox implements UplinkSink, Sequence {
  private lastSeq: number;
  private buffer: Row[] = [];
  private alongside: Array<() => void> = [];
  private waiters: Array<(err?: Error) => void> = [];
  private flushScheduled = false;
  private page: Row[] = [];
  private cursor = 0;
  private inflight = 0;
  private acked: number[] = [];
  private stopped = false;
  private counters = { sent: 0, acked: 0 };
  private readonly insert;
  private readonly saveSeq;
  private readonly readPage;
  private readonly countRows;

  constructor(
    private readonly db: Db,
    private readonly publisher: Publisher,
    private readonly opts: { window?: number; pageSize?: number } = {},
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL,
      qos INTEGER NOT NULL, retain INTEGER NOT NULL, class TEXT NOT NULL, created_at INTEGER NOT NULL)`);
    this.insert = db.prepare('INSERT INTO outbox (seq, topic, payload, qos, retain, class, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.saveSeq = db.prepare("INSERT INTO meta (key, value) VALUES ('seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    this.readPage = db.prepare('SELECT seq, topic, payload, qos, retain, class FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?');
    this.countRows = db.prepare('SELECT count(*) AS n FROM outbox');
    const maxRow = (db.prepare('SELECT max(seq) AS m FROM outbox').get() as { m: number | null }).m ?? 0;
    this.lastSeq = Math.max(maxRow, Number(getMeta(db, 'seq') ?? 0));
    publisher.on('connect', () => this.pump());
  }

  /** Next per-gateway sequence number. */
  next(): number {
    return ++this.lastSeq;
  }

  /** The latest sequence number handed out (status messages repeat it; they are outside the sequence). */
  get currentSeq(): number {
    return this.lastSeq;
  }

  put(msg: Outbound): void {
    this.buffer.push({
      seq: msg.message.seq,
      topic: msg.topic,
      payload: JSON.stringify(msg.message),
      qos: msg.qos,
      retain: msg.retain ? 1 : 0,
      class: msg.class,
    });
    this.scheduleFlush();
  }

  /**
   * Runs `write` (SQLite statements on the same database) inside the next commit, after the messages put
   * before it: state and the message that announces it land together or not at all (reports use this).
   */
  commitWith(write: () => void): void {
    this.alongside.push(write);
    this.scheduleFlush();
  }

  /** Calls back once everything put so far is committed to disk (or with the error that prevented it). */
  whenDurable(cb: (err?: Error) => void): void {
    if (!this.buffer.length && !this.alongside.length && !this.flushScheduled) return cb();
    this.waiters.push(cb);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commits buffered messages and acknowledged deletions in one transaction. */
  flush(): void {
    this.flushScheduled = false;
    const rows = this.buffer;
    const acked = this.acked;
    const waiters = this.waiters;
    const writes = this.alongside;
    this.buffer = [];
    this.acked = [];
    this.waiters = [];
    this.alongside = [];
    let err: Error | undefined;
    try {
      const now = Date.now();
      this.db.transaction(() => {
        for (const r of rows) this.insert.run(r.seq, r.topic, r.payload, r.qos, r.retain, r.class, now);
        if (rows.length) this.saveSeq.run(String(this.lastSeq));
        for (const w of writes) w();
        deleteSeqs(this.db, acked);
      })();
    } catch (e) {
      err = e as Error;
      // Keep them for the next attempt: nothing is acknowledged that is not on disk.
      this.buffer = rows.concat(this.buffer);
      this.acked = acked.concat(this.acked);
      this.alongside = writes.concat(this.alongside);
    }
    for (const w of waiters) w(err);
    if (err) setTimeout(() => this.scheduleFlush(), 1000).unref();
    else if (rows.length) this.pump();
  }

  /** Publishes committed messages in seq order, keeping at most `window` unacknowledged. */
  pump(): void {
    const window = this.opts.window ?? 64;
    while (!this.stopped && this.publisher.connected && this.inflight < window) {
      if (!this.page.length) {
        this.page = this.readPage.all(this.cursor, this.opts.pageSize ?? 256) as Row[];
        if (!this.page.length) return;
      }
      const row = this.page.shift()!;
      this.cursor = row.seq;
      this.inflight++;
      this.counters.sent++;
      this.publisher.publish(row.topic, row.payload, row.qos, row.retain === 1, (e) => {
        this.inflight--;
        if (e) {
          // Not acknowledged: rewind so it (and what followed) goes out again, in order, when connected.
          // Consumers dedupe by id, so a repeat is harmless; a loss is not.
          this.cursor = Math.min(this.cursor, row.seq - 1);
          this.page = [];
          return;
        }
        this.counters.acked++;
        this.acked.push(row.seq);
        this.scheduleFlush();
        this.pump();
      });
    }
  }

  stats(): OutboxStats {
    return { backlog: (this.countRows.get() as { n: number }).n + this.buffer.length, inflight: this.inflight, ...this.counters };
  }

  /** Commits what is buffered and stops publishing. */
  close(): void {
    this.stopped = true;
    this.flush();
  }
}

function deleteSeqs(db: Db, seqs: number[]): void {
  for (let i = 0; i < seqs.length; i += 500) {
    const chunk = seqs.slice(i, i + 500);
    db.prepare(`DELETE FROM outbox WHERE seq IN (${chunk.map(() => '?').join(',')})`).run(...chunk);
  }
}
