import type { Logger } from 'pino';
import type { Statement } from 'better-sqlite3';
import { getMeta, type Db, type Synchronous } from '../../store/db.js';
import type { DeliveryClass, Outbound, UplinkSink } from '../outbound.js';
import type { Sequence } from '../stamper.js';
import { Destination } from './destination.js';
import { LANES, laneOf, type Lane } from './lanes.js';
import { planOldestFirst, planThinning, type Held } from './thinning.js';
import { WalSync } from './wal-sync.js';
import { RecentRows } from './recent-rows.js';
import type { StoredMessage } from './stored-message.js';
import type { SyncTimesStats } from './sync-times.js';

/** A message as the outbox stores it. */
interface Buffered {
  seq: number;
  lane: Lane;
  device: string;
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: 0 | 1;
  class: DeliveryClass;
}

export interface OutboxOptions {
  synchronous: Synchronous;
  quotaBytes: number;
  ttlMs: number;
  keepEvery: number;
  log: Logger;
  now?: () => number;
  /** How often delivery progress is committed (without fsync: a lost one only repeats messages). */
  progressEveryMs?: number;
  /** How often the time-to-live and the quota are enforced (also right after a commit that passes the quota). */
  maintenanceEveryMs?: number;
}

export interface OutboxStats {
  /** Messages the central broker has not acknowledged yet. */
  backlog: number;
  lanes: Record<Lane, number>;
  /** When the oldest of them was stored. */
  oldestAt?: string;
  /** Disk in use by the outbox (pages holding data). */
  bytes: number;
  fileBytes: number;
  quotaBytes: number;
  ttlS: number;
  keepEvery: number;
  /** Telemetry removed since the outbox was created: thinned under the quota, expired, dropped oldest first. */
  thinned: number;
  expired: number;
  dropped: number;
  synchronous: Synchronous;
  /** At FULL: how long the WAL syncs took (each acknowledgement waits for one; a wearing SD card shows here first). */
  walSync?: SyncTimesStats;
  destinations: Record<string, { backlog: number; lanes: Partial<Record<Lane, number>> }>;
}

/** The outbox's tables (also used to salvage a damaged outbox into a new one). */
export function createOutboxTables(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS outbox_priority (
      seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL, qos INTEGER NOT NULL,
      retain INTEGER NOT NULL, class TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS outbox_telemetry (
      seq INTEGER PRIMARY KEY, device TEXT NOT NULL, topic TEXT NOT NULL, payload TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS delivered (
      dest TEXT NOT NULL, lane TEXT NOT NULL, through INTEGER NOT NULL, pending INTEGER NOT NULL, PRIMARY KEY (dest, lane));`);
}

const TABLE: Record<Lane, string> = { priority: 'outbox_priority', telemetry: 'outbox_telemetry' };
const SLICE_MS = 15;
const LOW_WATER = 0.9;
const DELETE_CHUNK = 20_000;
/** Rows per lane held in memory for destinations that keep up (more than the delivery window). */
const RECENT_ROWS = 1024;

/**
 * The durable store-and-forward queue (SQLite, WAL). Every message is committed before anything
 * acknowledges it (`whenDurable`: the device's PUBACK waits for it); commits are grouped per event-loop
 * turn, so thousands of messages per second cost a few fsyncs. Destinations (the MQTT uplink, the
 * InfluxDB sink) read in seq order and report what was delivered; a row is deleted once every destination
 * that reads its lane has it. Telemetry is thinned, then dropped oldest first, past the disk quota and
 * expires after its time-to-live; the priority lane is never dropped.
 */
export class SqliteOutbox implements UplinkSink, Sequence {
  private lastSeq: number;
  private committed: number;
  /** The highest seq known to be on disk: destinations read no further (at FULL a commit is durable once its WAL sync is done). */
  private durable: number;
  /** At FULL: the WAL is synced off the event loop (see WalSync) and the connection itself runs at NORMAL. */
  private readonly walSync?: WalSync;
  /** The synchronous level the connection actually runs at. */
  private readonly connectionSync: Synchronous;
  /** Per lane, the newest durable rows: destinations that keep up read them from memory. */
  private readonly recent: Record<Lane, RecentRows>;
  private buffer: Buffered[] = [];
  private waiters: Array<(err?: Error) => void> = [];
  private alongside: Array<() => void> = [];
  private flushScheduled = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly dests = new Map<string, Destination>();
  private progressDirty = false;
  private progressTimer?: NodeJS.Timeout;
  private maintenanceTimer?: NodeJS.Timeout;
  private maintenanceQueued = false;
  private readonly counters: { thinned: number; expired: number; dropped: number };
  private thinnedThrough: number;
  private avgRowBytes = 600;
  private closed = false;
  private readonly now: () => number;
  private readonly st: {
    insert: Record<Lane, Statement>;
    read: Record<Lane, Statement>;
    deleteThrough: Record<Lane, Statement>;
    oldest: Record<Lane, Statement>;
    upsertProgress: Statement;
    setMeta: Statement;
    deleteOne: Statement;
    thinChunk: Statement;
    oldestChunk: Statement;
    pageCount: Statement;
    freePages: Statement;
  };
  /** Fixed once the database has its first page (and it has: the tables exist). */
  private readonly pageSize: number;

  constructor(
    private readonly db: Db,
    private readonly opts: OutboxOptions,
  ) {
    this.now = opts.now ?? Date.now;
    createOutboxTables(db);
    this.st = {
      insert: {
        priority: db.prepare('INSERT INTO outbox_priority (seq, topic, payload, qos, retain, class, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
        telemetry: db.prepare('INSERT INTO outbox_telemetry (seq, device, topic, payload, created_at) VALUES (?, ?, ?, ?, ?)'),
      },
      read: {
        priority: db.prepare('SELECT seq, topic, payload, qos, retain, class, created_at FROM outbox_priority WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?'),
        telemetry: db.prepare("SELECT seq, topic, payload, 1 AS qos, 0 AS retain, 'telemetry' AS class, created_at FROM outbox_telemetry WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"),
      },
      deleteThrough: {
        priority: db.prepare('DELETE FROM outbox_priority WHERE seq IN (SELECT seq FROM outbox_priority WHERE seq <= ? ORDER BY seq LIMIT ?)'),
        telemetry: db.prepare('DELETE FROM outbox_telemetry WHERE seq IN (SELECT seq FROM outbox_telemetry WHERE seq <= ? ORDER BY seq LIMIT ?)'),
      },
      oldest: {
        priority: db.prepare('SELECT created_at FROM outbox_priority WHERE seq > ? ORDER BY seq LIMIT 1').pluck(),
        telemetry: db.prepare('SELECT created_at FROM outbox_telemetry WHERE seq > ? ORDER BY seq LIMIT 1').pluck(),
      },
      upsertProgress: db.prepare(
        'INSERT INTO delivered (dest, lane, through, pending) VALUES (?, ?, ?, ?) ON CONFLICT(dest, lane) DO UPDATE SET through = excluded.through, pending = excluded.pending',
      ),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      deleteOne: db.prepare('DELETE FROM outbox_telemetry WHERE seq = ?'),
      thinChunk: db.prepare('SELECT seq, device FROM outbox_telemetry WHERE seq > ? ORDER BY seq LIMIT ?'),
      oldestChunk: db.prepare('SELECT seq, created_at AS createdAt FROM outbox_telemetry ORDER BY seq LIMIT ?'),
      // Prepared once: the quota is checked after every commit (db.pragma() prepares its statement on each call).
      pageCount: db.prepare('PRAGMA page_count').pluck(),
      freePages: db.prepare('PRAGMA freelist_count').pluck(),
    };
    this.pageSize = db.pragma('page_size', { simple: true }) as number;
    const maxRow = Math.max(...LANES.map((l) => (db.prepare(`SELECT max(seq) FROM ${TABLE[l]}`).pluck().get() as number | null) ?? 0));
    this.lastSeq = Math.max(maxRow, Number(getMeta(db, 'seq') ?? 0));
    this.committed = this.lastSeq;
    this.durable = this.lastSeq;
    this.recent = { priority: new RecentRows(this.durable, RECENT_ROWS), telemetry: new RecentRows(this.durable, RECENT_ROWS) };
    if (opts.synchronous === 'FULL') {
      this.walSync = new WalSync(`${db.name}-wal`);
      db.pragma('synchronous = NORMAL');
    }
    this.connectionSync = this.walSync ? 'NORMAL' : opts.synchronous;
    this.counters = { thinned: Number(getMeta(db, 'thinned') ?? 0), expired: Number(getMeta(db, 'expired') ?? 0), dropped: Number(getMeta(db, 'dropped') ?? 0) };
    this.thinnedThrough = Number(getMeta(db, 'thinnedThrough') ?? 0);
  }

  /**
   * Declares a destination that reads the given lanes. Its progress survives restarts; a new one starts
   * at the oldest stored message. Declare every destination before `start`.
   */
  destination(name: string, lanes: readonly Lane[]): Destination {
    const d = new Destination(name, lanes, this);
    const get = this.db.prepare('SELECT through, pending FROM delivered WHERE dest = ? AND lane = ?');
    const counted = getMeta(this.db, 'counted'); // absent in outboxes that counted with every commit
    const countAfter = (lane: Lane, seq: number) => this.db.prepare(`SELECT count(*) FROM ${TABLE[lane]} WHERE seq > ?`).pluck().get(seq) as number;
    for (const lane of lanes) {
      const row = get.get(name, lane) as { through: number; pending: number } | undefined;
      d.through[lane] = row?.through ?? 0;
      // A new destination (or progress salvaged from a damaged file, marked -1) is counted once; a known one
      // adds the rows committed after its count was last written.
      d.pending[lane] =
        row && row.pending >= 0 ? row.pending + (counted === undefined ? 0 : countAfter(lane, Math.max(Number(counted), d.through[lane]))) : countAfter(lane, d.through[lane]);
      d.readTo[lane] = d.through[lane];
    }
    this.dests.set(name, d);
    this.progressDirty = true;
    return d;
  }

  /** Starts the timers that commit delivery progress and enforce the time-to-live and the quota. */
  start(): void {
    const names = [...this.dests.keys()];
    const stale = this.db.prepare(`DELETE FROM delivered WHERE dest NOT IN (${names.map(() => '?').join(',') || "''"})`).run(...names);
    if (stale.changes) this.opts.log.info({ destinations: names }, 'outbox: forgot the progress of destinations no longer configured');
    this.progressTimer = setInterval(() => this.commitProgress(), this.opts.progressEveryMs ?? 200);
    this.maintenanceTimer = setInterval(() => this.maintain(), this.opts.maintenanceEveryMs ?? 1000);
    this.progressTimer.unref();
    this.maintenanceTimer.unref();
    this.maintain();
  }

  /** Never hand out a seq at or below `seq` again (a floor kept outside this database survives its loss). */
  ensureSeqAtLeast(seq: number): void {
    if (seq > this.lastSeq) this.lastSeq = seq;
  }

  /** The highest seq on disk. */
  get committedSeq(): number {
    return this.committed;
  }

  /** Next per-gateway sequence number. Stamp and `put` in the same synchronous step: rows must arrive in seq order. */
  next(): number {
    return ++this.lastSeq;
  }

  /** The latest sequence number handed out (status messages repeat it; they are outside the sequence). */
  get currentSeq(): number {
    return this.lastSeq;
  }

  put(msg: Outbound): void {
    const lane = laneOf(msg.class);
    const m = msg.message as { seq: number; deviceId?: string };
    this.buffer.push({
      seq: m.seq,
      lane,
      device: m.deviceId ?? '',
      topic: msg.topic,
      payload: JSON.stringify(msg.message),
      qos: msg.qos,
      retain: msg.retain ? 1 : 0,
      class: msg.class,
    });
    this.scheduleFlush();
  }

  /**
   * Runs `write` (statements on the same database) inside the next commit, after the messages put before
   * it: state and the message that announces it land together or not at all (reports use this).
   */
  commitWith(write: () => void): void {
    this.alongside.push(write);
    this.scheduleFlush();
  }

  /** Calls back once everything put so far is committed (or with the error that prevented it). */
  whenDurable(cb: (err?: Error) => void): void {
    if (!this.buffer.length && !this.alongside.length && !this.flushScheduled) return this.walSync?.busy ? this.walSync.sync(cb) : cb();
    this.waiters.push(cb);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Runs a commit that needs no fsync (delivery progress, thinning: a lost one only repeats or re-thins
   * messages) at NORMAL, then restores EXTRA for everything else on this connection (at FULL the connection
   * runs at NORMAL already: see WalSync).
   */
  private relaxed(fn: () => void): void {
    if (this.connectionSync !== 'EXTRA') return fn();
    this.db.pragma('synchronous = NORMAL');
    try {
      fn();
    } finally {
      this.db.pragma('synchronous = EXTRA');
    }
  }

  /** Commits what was put since the last commit, in one transaction at the configured synchronous level. */
  flush(): void {
    this.flushScheduled = false;
    const rows = this.buffer;
    const waiters = this.waiters;
    const writes = this.alongside;
    this.buffer = [];
    this.waiters = [];
    this.alongside = [];
    if (!rows.length && !writes.length) {
      for (const w of waiters) w();
      return;
    }
    const added: Record<Lane, number> = { priority: 0, telemetry: 0 };
    for (const r of rows) added[r.lane]++;
    let err: Error | undefined;
    const now = this.now();
    try {
      this.db.transaction(() => {
        for (const r of rows) {
          if (r.lane === 'telemetry') this.st.insert.telemetry.run(r.seq, r.device, r.topic, r.payload, now);
          else this.st.insert.priority.run(r.seq, r.topic, r.payload, r.qos, r.retain, r.class, now);
        }
        // Only the rows (and state committed with them): the seq high-water mark and the backlog counts are
        // written with the next progress commit, so a commit touches the pages of its own rows and no others.
        for (const w of writes) w();
      })();
    } catch (e) {
      err = e as Error;
    }
    if (err) {
      // Nothing is acknowledged that is not on disk: keep the rows and try again.
      this.buffer = rows.concat(this.buffer);
      this.alongside = writes.concat(this.alongside);
      this.opts.log.error({ err: err.message, code: (err as { code?: string }).code, messages: rows.length }, 'outbox: commit failed; retrying (nothing was acknowledged)');
      if ((err as { code?: string }).code === 'SQLITE_FULL') this.makeRoom(rows.length);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.scheduleFlush(), 500);
      this.retryTimer.unref();
    } else {
      for (const r of rows) if (r.seq > this.committed) this.committed = r.seq;
      if (added.telemetry) {
        const sample = rows[rows.length - 1]!;
        this.avgRowBytes = this.avgRowBytes * 0.99 + (sample.payload.length + sample.topic.length + 48) * 0.01;
      }
    }
    if (err || !this.walSync) return this.afterDurable(this.committed, rows, now, added, waiters, err);
    const through = this.committed;
    this.walSync.sync((e) => {
      if (e) this.opts.log.error({ err: e.message, messages: rows.length }, 'outbox: syncing the write-ahead log failed; those messages are not acknowledged');
      this.afterDurable(through, rows, now, added, waiters, e);
    });
  }

  /** A commit is on disk: acknowledge what waited for it and let destinations read it. */
  private afterDurable(through: number, rows: Buffered[], createdAt: number, added: Record<Lane, number>, waiters: Array<(err?: Error) => void>, err?: Error): void {
    if (!err) {
      if (through > this.durable) this.durable = through;
      for (const r of rows) this.recent[r.lane].append(storedOf(r, createdAt));
      for (const d of this.dests.values()) for (const lane of d.lanes) d.pending[lane] += added[lane];
      if (rows.length) this.progressDirty = true;
    }
    for (const w of waiters) w(err);
    if (err || this.closed) return;
    for (const lane of LANES) if (added[lane]) for (const d of this.dests.values()) if (d.lanes.includes(lane)) d.notify(lane);
    if (added.telemetry && !this.maintenanceQueued && this.usedBytes() > this.opts.quotaBytes) this.queueMaintenance();
  }

  /** Rows of one lane after `after`, oldest first (for destinations). */
  readRows(lane: Lane, after: number, limit: number): StoredMessage[] {
    const held = this.recent[lane].read(after, limit);
    if (held) {
      // What every reader of the lane has read already is not needed in memory again (a rewind reads the database).
      let readTo = Infinity;
      for (const d of this.dests.values()) if (d.lanes.includes(lane)) readTo = Math.min(readTo, d.readTo[lane]);
      this.recent[lane].forgetThrough(Math.min(readTo, after));
      return held;
    }
    const rows = this.st.read[lane].all(after, this.durable, limit) as Array<{ seq: number; topic: string; payload: string; qos: 0 | 1; retain: 0 | 1; class: DeliveryClass; created_at: number }>;
    return rows.map((r) => ({ seq: r.seq, lane, topic: r.topic, payload: r.payload, qos: r.qos, retain: r.retain === 1, class: r.class, createdAt: r.created_at }));
  }

  /** A destination moved its watermark: committed with the next progress commit. */
  progressed(): void {
    this.progressDirty = true;
  }

  /** Commits delivery watermarks and deletes rows every destination has (no fsync needed: see docs/durability.md). */
  commitProgress(): void {
    if (!this.progressDirty) return;
    this.progressDirty = false;
    try {
      let more = false;
      this.relaxed(() =>
        this.db.transaction(() => {
          this.persistCounts();
          for (const lane of LANES) {
            const readers = [...this.dests.values()].filter((d) => d.lanes.includes(lane));
            if (!readers.length) continue;
            const through = Math.min(...readers.map((d) => d.through[lane]));
            if ((this.st.deleteThrough[lane].run(through, DELETE_CHUNK).changes) === DELETE_CHUNK) more = true;
          }
        })(),
      );
      if (more) this.progressDirty = true;
    } catch (e) {
      this.progressDirty = true;
      this.opts.log.warn({ err: (e as Error).message }, 'outbox: committing delivery progress failed; retrying');
    }
  }

  /**
   * Inside a transaction: each destination's watermark and backlog, the backlog's extent (rows up to the
   * durable seq are counted; a restart counts the rows after it) and the highest committed seq (which must
   * outlive the rows this transaction deletes).
   */
  private persistCounts(): void {
    for (const d of this.dests.values()) for (const lane of d.lanes) this.st.upsertProgress.run(d.name, lane, d.through[lane], d.pending[lane]);
    this.st.setMeta.run('counted', String(this.durable));
    this.st.setMeta.run('seq', String(this.lastSeq));
  }

  /** Pages holding data, in bytes (what the quota counts). */
  usedBytes(): number {
    return ((this.st.pageCount.get() as number) - (this.st.freePages.get() as number)) * this.pageSize;
  }

  private held(): Held {
    const out: Held = [];
    for (const d of this.dests.values()) if (d.lanes.includes('telemetry') && d.readTo.telemetry > d.through.telemetry) out.push({ after: d.through.telemetry, upTo: d.readTo.telemetry });
    return out;
  }

  private queueMaintenance(): void {
    if (this.maintenanceQueued || this.closed) return;
    this.maintenanceQueued = true;
    setImmediate(() => {
      this.maintenanceQueued = false;
      this.maintain();
    });
  }

  /**
   * Enforces the telemetry time-to-live, then the quota: thin the oldest not yet thinned telemetry (keep
   * every Nth per device), and once everything is thinned, drop the oldest. Works in slices of a few
   * milliseconds so ingest keeps flowing; continues in the next turn while the outbox is over quota.
   */
  maintain(): void {
    if (this.closed) return;
    const started = performance.now();
    try {
      this.commitProgress();
      this.expire(started);
      const target = this.opts.quotaBytes * LOW_WATER;
      let used = this.usedBytes();
      if (used <= this.opts.quotaBytes) return;
      const before = { ...this.counters };
      while (used > target && performance.now() - started < SLICE_MS) {
        const need = Math.max(1, Math.ceil((used - target) / this.avgRowBytes));
        if (!this.removeTelemetry(need)) break;
        used = this.usedBytes();
      }
      const thinned = this.counters.thinned - before.thinned;
      const dropped = this.counters.dropped - before.dropped;
      if (thinned || dropped) {
        this.opts.log.warn({ thinned, dropped, usedBytes: used, quotaBytes: this.opts.quotaBytes, keepEvery: this.opts.keepEvery }, 'outbox: telemetry quota reached; telemetry thinned (alarms, reports and events are kept)');
      }
      if (used > target && (thinned || dropped)) this.queueMaintenance();
    } catch (e) {
      this.opts.log.error({ err: (e as Error).message }, 'outbox: maintenance failed');
    }
  }

  private expire(started: number): void {
    const cutoff = this.now() - this.opts.ttlMs;
    while (performance.now() - started < SLICE_MS) {
      const chunk = this.st.oldestChunk.all(500) as Array<{ seq: number; createdAt: number }>;
      const old = chunk.filter((r) => r.createdAt < cutoff);
      const del = planOldestFirst(old, old.length, this.held());
      if (!del.length) return;
      this.deleteTelemetry(del, 'expired');
      if (old.length < chunk.length) return;
    }
  }

  /** One step of quota enforcement; false when nothing more can be removed. */
  private removeTelemetry(need: number): boolean {
    const k = this.opts.keepEvery;
    // The newest telemetry stays complete: a quarter of what the quota holds is never thinned (pages emptied
    // to a quarter free less than their rows, so thinning alone could otherwise run on into the newest rows).
    const thinBelow = this.durable - Math.floor(this.opts.quotaBytes / this.avgRowBytes / 4);
    const chunk = (this.st.thinChunk.all(this.thinnedThrough, Math.min(2000, Math.max(64, Math.ceil((need * k) / (k - 1))))) as Array<{ seq: number; device: string }>).filter((r) => r.seq <= thinBelow);
    if (chunk.length) {
      const del = planThinning(chunk, k, this.held());
      this.deleteTelemetry(del, 'thinned', chunk[chunk.length - 1]!.seq);
      return true;
    }
    const oldest = this.st.oldestChunk.all(Math.min(2000, Math.max(64, need))) as Array<{ seq: number }>;
    const del = planOldestFirst(oldest, need, this.held());
    if (!del.length) return false;
    this.deleteTelemetry(del, 'dropped');
    return true;
  }

  private deleteTelemetry(all: number[], why: 'thinned' | 'expired' | 'dropped', thinnedThrough?: number): void {
    const seqs = all.filter((s) => s <= this.durable); // a row whose WAL sync is under way is not counted in any backlog yet
    const readers = [...this.dests.values()].filter((d) => d.lanes.includes('telemetry'));
    const before = readers.map((d) => d.pending.telemetry);
    readers.forEach((d) => (d.pending.telemetry = Math.max(0, d.pending.telemetry - seqs.filter((s) => s > d.through.telemetry).length)));
    try {
      this.relaxed(() =>
        this.db.transaction(() => {
          for (const s of seqs) this.st.deleteOne.run(s);
          this.st.setMeta.run(why, String(this.counters[why] + seqs.length));
          if (thinnedThrough !== undefined) this.st.setMeta.run('thinnedThrough', String(thinnedThrough));
          this.persistCounts();
        })(),
      );
    } catch (e) {
      readers.forEach((d, i) => (d.pending.telemetry = before[i]!));
      throw e;
    }
    this.counters[why] += seqs.length;
    this.recent.telemetry.reset(this.durable); // some held rows may be gone
    if (thinnedThrough !== undefined) this.thinnedThrough = thinnedThrough;
  }

  /** The disk is full: drop the oldest telemetry to make room for what must be written. */
  private makeRoom(rows: number): void {
    try {
      const oldest = this.st.oldestChunk.all(Math.max(1000, rows * 2)) as Array<{ seq: number }>;
      const del = planOldestFirst(oldest, oldest.length, this.held());
      if (del.length) this.deleteTelemetry(del, 'dropped');
      this.opts.log.error({ dropped: del.length }, 'outbox: disk full; dropped the oldest telemetry to keep alarms and reports');
    } catch (e) {
      this.opts.log.error({ err: (e as Error).message }, 'outbox: disk full and nothing could be freed');
    }
  }

  stats(primary = 'mqtt'): OutboxStats {
    const destinations: OutboxStats['destinations'] = {};
    for (const d of this.dests.values()) {
      const lanes: Partial<Record<Lane, number>> = {};
      for (const l of d.lanes) lanes[l] = d.pending[l];
      destinations[d.name] = { backlog: d.lanes.reduce((n, l) => n + d.pending[l], 0), lanes };
    }
    const main = this.dests.get(primary);
    let oldest: number | undefined;
    if (main) {
      for (const l of main.lanes) {
        const at = this.st.oldest[l].get(main.through[l]) as number | undefined;
        if (at !== undefined && (oldest === undefined || at < oldest)) oldest = at;
      }
    }
    return {
      backlog: main ? destinations[primary]!.backlog : 0,
      lanes: { priority: main?.pending.priority ?? 0, telemetry: main?.pending.telemetry ?? 0 },
      ...(oldest !== undefined && { oldestAt: new Date(oldest).toISOString() }),
      bytes: this.usedBytes(),
      fileBytes: (this.st.pageCount.get() as number) * this.pageSize,
      quotaBytes: this.opts.quotaBytes,
      ttlS: Math.round(this.opts.ttlMs / 1000),
      keepEvery: this.opts.keepEvery,
      ...this.counters,
      synchronous: this.opts.synchronous,
      ...(this.walSync && { walSync: this.walSync.times.stats() }),
      destinations,
    };
  }

  /** Commits what is buffered and the delivery progress, and stops the timers. The owner closes the database. */
  close(): void {
    this.flush();
    this.walSync?.close();
    this.progressDirty = true;
    this.commitProgress();
    this.closed = true;
    clearInterval(this.progressTimer);
    clearInterval(this.maintenanceTimer);
    clearTimeout(this.retryTimer);
  }
}

/** A buffered row as a destination reads it back (the telemetry table stores neither QoS, retain nor class). */
function storedOf(r: Buffered, createdAt: number): StoredMessage {
  return r.lane === 'telemetry'
    ? { seq: r.seq, lane: r.lane, topic: r.topic, payload: r.payload, qos: 1, retain: false, class: 'telemetry', createdAt }
    : { seq: r.seq, lane: r.lane, topic: r.topic, payload: r.payload, qos: r.qos, retain: r.retain === 1, class: r.class, createdAt };
}
