import type { Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Db } from '../../store/db.js';
import type { HistoryConfig } from './config.js';
import { MINUTE, type HistoryPlan } from './query.js';

export interface HistoryPoint {
  t: string;
  /** The value (raw) or the mean of the bucket. */
  v: number;
  min?: number;
  max?: number;
  n?: number;
}

export interface HistoryResult {
  source: 'raw' | 'minute';
  metrics: Record<string, { unit?: string; points: HistoryPoint[] }>;
  truncated?: boolean;
}

export interface HistoryStats {
  series: number;
  rawRetentionH: number;
  minuteRetentionD: number;
  bytes: number;
}

/** Samples of one series not yet in the series tables, in arrival order. */
interface SeriesBuffer {
  device: string;
  metric: string;
  unit?: string;
  ts: number[];
  values: number[];
  /** How many of them are in the journal already. */
  journaled: number;
  /** Waiting in the journal queue. */
  queued: boolean;
}

// The series tables keep rows by series, then time, so a commit touches one B-tree page per series it
// writes: at 2,000 msg/s from 1,000 devices, writing them every 250 ms dirtied ~2,000 pages per batch, cost
// ~100 µs of CPU per message and stalled ingest (bench:ingest). So samples are first appended to a journal
// (rowid order: a few pages per batch) every 100 ms — a kill -9 costs the history at most that — and
// moved into the series tables every 10 s, when each page written carries ~20 samples instead of one.
// Both writes are sliced (a few ms each) with ingest's work in between.
const JOURNAL_MS = 100;
const JOURNAL_AT = 20_000;
const COMPACT_MS = 10_000;
const COMPACT_AT = 100_000;
const WRITE_SLICE_MS = 5;
/** A compaction pauses this many times as long as each slice took. */
const COMPACT_PAUSE = 3;
const PRUNE_MS = 5 * 60_000;
const SLICE_MS = 10;

export interface HistoryTiming {
  journalEveryMs?: number;
  compactEveryMs?: number;
}

/**
 * Telemetry history in its own SQLite file (history.db, synchronous NORMAL: history is a convenience
 * for the console and field engineers; the outbox is the record). Raw samples and 1-minute aggregates
 * (sum, min, max, count) are written together off the ingest path, through a journal (see above) that is
 * replayed after a restart; a sample already recorded (same series and time, e.g. a replay) is not counted
 * twice. Old rows are pruned in small slices.
 */
export class HistoryStore {
  private readonly ids = new Map<string, number>();
  private readonly units = new Map<number, string | null>();
  /** Samples not in the series tables yet, by series. */
  private pending = new Map<string, SeriesBuffer>();
  private pendingCount = 0;
  /** Series with samples not in the journal yet, and how far the journal writer has come through them. */
  private toJournal: SeriesBuffer[] = [];
  private journalCursor = 0;
  private unjournaled = 0;
  private journalQueued = false;
  private lastJournalId = 0;
  /** A compaction in progress, written slice by slice; journal rows through `cut` are in `series`. */
  private compacting?: { series: SeriesBuffer[]; next: number; cut: number };
  private compactQueued = false;
  private timers: NodeJS.Timeout[] = [];
  private pruneCursor = 0;
  private readonly st: { series: Statement; seriesUnit: Statement; raw: Statement; minute: Statement; journal: Statement; dropJournal: Statement };

  constructor(
    private readonly db: Db,
    private readonly cfg: HistoryConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly timing: HistoryTiming = {},
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, device TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT, UNIQUE (device, metric));
      CREATE TABLE IF NOT EXISTS raw (series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (series, ts)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS minute (series INTEGER NOT NULL, ts INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (series, ts)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY, series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL);`);
    this.loadSeries();
    this.st = {
      series: db.prepare('INSERT INTO series (device, metric, unit) VALUES (?, ?, ?) RETURNING id').pluck(),
      seriesUnit: db.prepare('UPDATE series SET unit = ? WHERE id = ?'),
      raw: db.prepare('INSERT OR IGNORE INTO raw (series, ts, value) VALUES (?, ?, ?)'),
      minute: db.prepare(
        `INSERT INTO minute (series, ts, sum, min, max, count) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (series, ts) DO UPDATE SET sum = sum + excluded.sum, min = min(min, excluded.min), max = max(max, excluded.max), count = count + excluded.count`,
      ),
      journal: db.prepare('INSERT INTO journal (series, ts, value) VALUES (?, ?, ?)'),
      dropJournal: db.prepare('DELETE FROM journal WHERE id <= ?'),
    };
    this.replayJournal();
  }

  private loadSeries(): void {
    this.ids.clear();
    for (const r of this.db.prepare('SELECT id, device, metric FROM series').all() as Array<{ id: number; device: string; metric: string }>) this.ids.set(key(r.device, r.metric), r.id);
  }

  /** Samples journaled before a stop or a crash go into the series tables with the next compaction. */
  private replayJournal(): void {
    const rows = this.db.prepare('SELECT j.id, j.ts, j.value, s.device, s.metric, s.unit FROM journal j JOIN series s ON s.id = j.series ORDER BY j.id').iterate() as Iterable<{ id: number; ts: number; value: number; device: string; metric: string; unit: string | null }>;
    for (const r of rows) {
      const b = this.buffer(r.device, r.metric);
      if (r.unit !== null) b.unit = r.unit;
      b.ts.push(r.ts);
      b.values.push(r.value);
      b.journaled = b.ts.length;
      this.pendingCount++;
      this.lastJournalId = r.id;
    }
  }

  start(): void {
    this.timers.push(
      setInterval(() => this.journalInSlices(), this.timing.journalEveryMs ?? JOURNAL_MS),
      setInterval(() => this.compactInSlices(), this.timing.compactEveryMs ?? COMPACT_MS),
      setInterval(() => this.prune(), PRUNE_MS),
    );
    for (const t of this.timers) t.unref();
    setImmediate(() => this.prune());
  }

  private buffer(device: string, metric: string): SeriesBuffer {
    const k = key(device, metric);
    let b = this.pending.get(k);
    if (!b) this.pending.set(k, (b = { device, metric, ts: [], values: [], journaled: 0, queued: false }));
    return b;
  }

  /** Records the numeric and boolean metrics of one uplink (strings are not history). */
  add(device: string, ts: number, metrics: Record<string, { value: number | boolean | string; unit?: string }>): void {
    for (const metric in metrics) {
      const m = metrics[metric]!;
      const value = typeof m.value === 'boolean' ? (m.value ? 1 : 0) : m.value;
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      const b = this.buffer(device, metric);
      if (m.unit) b.unit = m.unit;
      b.ts.push(ts);
      b.values.push(value);
      this.pendingCount++;
      this.unjournaled++;
      if (!b.queued) {
        b.queued = true;
        this.toJournal.push(b);
      }
    }
    if (this.unjournaled >= JOURNAL_AT && !this.journalQueued) {
      this.journalQueued = true;
      setImmediate(() => this.journalInSlices());
    }
    if (this.pendingCount >= COMPACT_AT && !this.compactQueued) {
      this.compactQueued = true;
      setImmediate(() => this.compactInSlices());
    }
  }

  private seriesId(b: SeriesBuffer): number {
    const k = key(b.device, b.metric);
    let id = this.ids.get(k);
    if (id === undefined) {
      id = this.st.series.get(b.device, b.metric, b.unit ?? null) as number;
      this.ids.set(k, id);
      this.units.set(id, b.unit ?? null);
    } else if (b.unit !== undefined && this.units.get(id) !== b.unit) {
      this.st.seriesUnit.run(b.unit, id);
      this.units.set(id, b.unit);
    }
    return id;
  }

  /** Appends queued samples to the journal, a slice (one transaction) at a time, yielding to ingest between slices. */
  private journalInSlices(budgetMs = WRITE_SLICE_MS): void {
    this.journalQueued = false;
    const until = performance.now() + budgetMs;
    const done: Array<[SeriesBuffer, number]> = [];
    let cursor = this.journalCursor;
    let last = this.lastJournalId;
    const queue = this.toJournal;
    try {
      this.db.transaction(() => {
        while (cursor < queue.length && performance.now() < until) {
          const b = queue[cursor++]!;
          const id = this.seriesId(b);
          for (let i = b.journaled; i < b.ts.length; i++) last = Number(this.st.journal.run(id, b.ts[i], b.values[i]).lastInsertRowid);
          done.push([b, b.ts.length]);
        }
      })();
      this.lastJournalId = last;
    } catch (e) {
      // Those samples stay in memory and still reach the series tables; only a crash before then would lose them.
      this.loadSeries();
      this.units.clear();
      this.log.warn({ err: (e as Error).message }, 'history: writing the journal failed');
      for (let i = this.journalCursor; i < cursor; i++) queue[i]!.queued = false; // queued again with their next sample
      done.length = 0;
    }
    for (const [b, n] of done) {
      this.unjournaled -= n - b.journaled;
      b.journaled = n;
      b.queued = false;
    }
    this.journalCursor = cursor;
    if (cursor < queue.length) {
      this.journalQueued = true;
      setImmediate(() => this.journalInSlices());
    } else {
      // Series that got samples again meanwhile were queued again (after the cursor), so the queue is done.
      this.toJournal = [];
      this.journalCursor = 0;
    }
  }

  /** Raw samples and their 1-minute aggregates of one series (inside a transaction). */
  private writeSeries(b: SeriesBuffer): void {
    if (!b.ts.length) return;
    const id = this.seriesId(b);
    let agg: { ts: number; sum: number; min: number; max: number; count: number } | undefined;
    const put = () => agg && this.st.minute.run(id, agg.ts, agg.sum, agg.min, agg.max, agg.count);
    for (let i = 0; i < b.ts.length; i++) {
      const ts = b.ts[i]!;
      const value = b.values[i]!;
      if (!this.st.raw.run(id, ts, value).changes) continue; // already recorded
      const minute = Math.floor(ts / MINUTE) * MINUTE;
      if (agg && agg.ts === minute) {
        agg.sum += value;
        agg.min = Math.min(agg.min, value);
        agg.max = Math.max(agg.max, value);
        agg.count++;
      } else {
        put();
        agg = { ts: minute, sum: value, min: value, max: value, count: 1 };
      }
    }
    put();
  }

  /** Writes series from `series[from]` on, in one transaction, until `untilMs` (performance.now) passes; returns where it stopped. */
  private writeSome(series: SeriesBuffer[], from: number, untilMs = Infinity): number {
    let i = from;
    try {
      this.db.transaction(() => {
        while (i < series.length) {
          this.writeSeries(series[i]!);
          i++;
          if (performance.now() > untilMs) break;
        }
      })();
    } catch (e) {
      this.loadSeries(); // series created in the failed transaction were rolled back
      this.units.clear();
      // The transaction rolled back everything from `from` through the series that failed (series[i]).
      const lost = series.slice(from, i + 1).reduce((n, b) => n + b.ts.length, 0);
      this.log.warn({ err: (e as Error).message, samples: lost }, 'history: writing samples failed; they are not in the local history');
      return i + 1;
    }
    return i;
  }

  /** Takes every pending series for the series tables; journal rows through the returned cut are among them. */
  private takePending(): { series: SeriesBuffer[]; cut: number } {
    const series = [...this.pending.values()];
    this.pending = new Map();
    this.pendingCount = 0;
    this.toJournal = [];
    this.journalCursor = 0;
    this.unjournaled = 0;
    return { series, cut: this.lastJournalId };
  }

  private dropJournal(cut: number): void {
    try {
      this.st.dropJournal.run(cut);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'history: clearing the journal failed (it is replayed harmlessly)');
    }
  }

  /** The periodic compaction: journaled samples into the series tables, slice by slice. */
  private compactInSlices(): void {
    this.compactQueued = false;
    if (this.compacting || !this.pendingCount) return;
    this.journalInSlices(Infinity); // what is taken now must be in the journal until it is in the series tables
    const c = (this.compacting = { ...this.takePending(), next: 0 });
    const step = () => {
      if (this.compacting !== c) return; // finished by a synchronous flush meanwhile
      const started = performance.now();
      c.next = this.writeSome(c.series, c.next, started + WRITE_SLICE_MS);
      // At most a quarter of the event loop: a compaction is ~0.2 s of work per 10 s at 2,000 msg/s, and run
      // back to back its slices (and the disk writes behind them) showed up as a latency surge.
      if (c.next < c.series.length) return void setTimeout(step, COMPACT_PAUSE * (performance.now() - started)).unref();
      this.compacting = undefined;
      this.dropJournal(c.cut);
    };
    step();
  }

  /** Writes everything recorded so far into the series tables, now (at close). */
  flush(): void {
    const c = this.compacting;
    this.compacting = undefined;
    if (c && c.next < c.series.length) this.writeSome(c.series, c.next);
    const { series, cut } = this.takePending();
    if (series.length) this.writeSome(series, 0);
    if (c || series.length) this.dropJournal(cut);
  }

  /** Writes one device's pending samples into the series tables now (before a query of that device). */
  private flushDevice(device: string): void {
    const mine = (b: SeriesBuffer) => b.device === device && b.ts.length > 0;
    const taken: SeriesBuffer[] = [];
    const c = this.compacting;
    if (c) {
      for (let i = c.next; i < c.series.length; i++) {
        const b = c.series[i]!;
        if (mine(b)) {
          taken.push({ ...b });
          b.ts = [];
          b.values = [];
        }
      }
    }
    for (const [k, b] of this.pending) {
      if (!mine(b)) continue;
      taken.push(b);
      this.pending.delete(k);
      this.pendingCount -= b.ts.length;
      this.unjournaled -= b.ts.length - b.journaled;
      b.journaled = b.ts.length; // in the series tables now: the journal writer skips it (its journal rows replay harmlessly)
    }
    if (taken.length) this.writeSome(taken, 0);
  }

  /** Deletes raw samples and 1-minute means past their retention, a few series per slice. */
  prune(): void {
    const now = this.now();
    const rawCut = now - this.cfg.rawRetentionH * 3_600_000;
    const minCut = now - this.cfg.minuteRetentionD * 86_400_000;
    const ids = [...this.ids.values()].sort((a, b) => a - b);
    const delRaw = this.db.prepare('DELETE FROM raw WHERE series = ? AND ts < ?');
    const delMin = this.db.prepare('DELETE FROM minute WHERE series = ? AND ts < ?');
    const started = performance.now();
    try {
      while (this.pruneCursor < ids.length && performance.now() - started < SLICE_MS) {
        const slice = ids.slice(this.pruneCursor, this.pruneCursor + 50);
        this.db.transaction(() => {
          for (const id of slice) {
            delRaw.run(id, rawCut);
            delMin.run(id, minCut);
          }
        })();
        this.pruneCursor += slice.length;
      }
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'history: pruning failed');
    }
    if (this.pruneCursor < ids.length) setImmediate(() => this.prune());
    else this.pruneCursor = 0;
  }

  hasDevice(device: string): boolean {
    for (const k of this.ids.keys()) if (k.startsWith(device + '\u0000')) return true;
    for (const b of this.pending.values()) if (b.device === device) return true;
    return false;
  }

  query(device: string, plan: HistoryPlan): HistoryResult {
    this.flushDevice(device);
    const rows = this.db.prepare('SELECT id, metric, unit FROM series WHERE device = ? ORDER BY metric').all(device) as Array<{ id: number; metric: string; unit: string | null }>;
    const wanted = plan.metrics ? rows.filter((r) => plan.metrics!.includes(r.metric)) : rows;
    const out: HistoryResult = { source: plan.source, metrics: {} };
    const iso = (ms: number) => new Date(ms).toISOString();
    for (const s of wanted) {
      let points: HistoryPoint[];
      if (plan.stepMs === 0) {
        const r = this.db.prepare('SELECT ts, value FROM raw WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?').all(s.id, plan.from, plan.to, this.cfg.maxPoints + 1) as Array<{ ts: number; value: number }>;
        if (r.length > this.cfg.maxPoints) {
          r.length = this.cfg.maxPoints;
          out.truncated = true;
        }
        points = r.map((p) => ({ t: iso(p.ts), v: p.value }));
      } else {
        const sql =
          plan.source === 'raw'
            ? 'SELECT ts - ts % ? AS b, avg(value) AS v, min(value) AS lo, max(value) AS hi, count(*) AS n FROM raw WHERE series = ? AND ts >= ? AND ts < ? GROUP BY b ORDER BY b'
            : 'SELECT ts - ts % ? AS b, sum(sum) / sum(count) AS v, min(min) AS lo, max(max) AS hi, sum(count) AS n FROM minute WHERE series = ? AND ts >= ? AND ts < ? GROUP BY b ORDER BY b';
        const r = this.db.prepare(sql).all(plan.stepMs, s.id, plan.from, plan.to) as Array<{ b: number; v: number; lo: number; hi: number; n: number }>;
        points = r.map((p) => ({ t: iso(p.b), v: p.v, min: p.lo, max: p.hi, n: p.n }));
      }
      out.metrics[s.metric] = { ...(s.unit && { unit: s.unit }), points };
    }
    return out;
  }

  stats(): HistoryStats {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return { series: this.ids.size, rawRetentionH: this.cfg.rawRetentionH, minuteRetentionD: this.cfg.minuteRetentionD, bytes: (pages - free) * size };
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.flush();
  }
}

function key(device: string, metric: string): string {
  return `${device}\u0000${metric}`;
}
