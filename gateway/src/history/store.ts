import type { Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
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

interface Sample {
  device: string;
  metric: string;
  unit?: string;
  ts: number;
  value: number;
}

// A history commit touches one B-tree page per series it writes (rows are kept by series, then time): at
// 2,000 msg/s one 250 ms batch stalled ingest 20–40 ms (bench:ingest's latency trace). Batches are still taken
// every 250 ms (a power cut costs the history no more), but written in slices of a few ms, grouped by series,
// with ingest's work in between. (Every 5 s would be cheaper per sample but loses seconds on a kill -9.)
const FLUSH_MS = 250;
const FLUSH_AT = 20_000;
const WRITE_SLICE_MS = 5;
const PRUNE_MS = 5 * 60_000;
const SLICE_MS = 10;

/**
 * Telemetry history in its own SQLite file (history.db, synchronous NORMAL: history is a convenience
 * for the console and field engineers; the outbox is the record). Raw samples and 1-minute aggregates
 * (sum, min, max, count) are written together in batches off the ingest path; a sample already recorded
 * (same series and time, e.g. a replay) is not counted twice. Old rows are pruned in small slices.
 */
export class HistoryStore {
  private readonly ids = new Map<string, number>();
  /** Samples not written yet, by series (a slice writes whole series: fewer pages per commit). */
  private pending = new Map<string, Sample[]>();
  private pendingCount = 0;
  /** A flush in progress, written slice by slice. */
  private draining?: { series: Sample[][]; next: number };
  private readonly units = new Map<number, string | null>();
  private timers: NodeJS.Timeout[] = [];
  private flushQueued = false;
  private pruneCursor = 0;
  private readonly st: { series: Statement; seriesUnit: Statement; raw: Statement; minute: Statement };

  constructor(
    private readonly db: Db,
    private readonly cfg: HistoryConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, device TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT, UNIQUE (device, metric));
      CREATE TABLE IF NOT EXISTS raw (series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (series, ts)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS minute (series INTEGER NOT NULL, ts INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (series, ts)) WITHOUT ROWID;`);
    this.loadSeries();
    this.st = {
      series: db.prepare('INSERT INTO series (device, metric, unit) VALUES (?, ?, ?) RETURNING id').pluck(),
      seriesUnit: db.prepare('UPDATE series SET unit = ? WHERE id = ?'),
      raw: db.prepare('INSERT OR IGNORE INTO raw (series, ts, value) VALUES (?, ?, ?)'),
      minute: db.prepare(
        `INSERT INTO minute (series, ts, sum, min, max, count) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (series, ts) DO UPDATE SET sum = sum + excluded.sum, min = min(min, excluded.min), max = max(max, excluded.max), count = count + excluded.count`,
      ),
    };
  }

  private loadSeries(): void {
    this.ids.clear();
    for (const r of this.db.prepare('SELECT id, device, metric FROM series').all() as Array<{ id: number; device: string; metric: string }>) this.ids.set(key(r.device, r.metric), r.id);
  }

  start(): void {
    this.timers.push(setInterval(() => this.flushInSlices(), FLUSH_MS), setInterval(() => this.prune(), PRUNE_MS));
    for (const t of this.timers) t.unref();
    setImmediate(() => this.prune());
  }

  /** Records the numeric and boolean metrics of one uplink (strings are not history). */
  add(device: string, ts: number, metrics: Record<string, { value: number | boolean | string; unit?: string }>): void {
    for (const [metric, m] of Object.entries(metrics)) {
      const value = typeof m.value === 'boolean' ? (m.value ? 1 : 0) : m.value;
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      const k = key(device, metric);
      const sample: Sample = { device, metric, ...(m.unit && { unit: m.unit }), ts, value };
      const list = this.pending.get(k);
      if (list) list.push(sample);
      else this.pending.set(k, [sample]);
      this.pendingCount++;
    }
    if (this.pendingCount >= FLUSH_AT && !this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => this.flushInSlices());
    }
  }

  private seriesId(s: Sample): number {
    const k = key(s.device, s.metric);
    let id = this.ids.get(k);
    if (id === undefined) {
      id = this.st.series.get(s.device, s.metric, s.unit ?? null) as number;
      this.ids.set(k, id);
      this.units.set(id, s.unit ?? null);
    } else if (s.unit !== undefined && this.units.get(id) !== s.unit) {
      this.st.seriesUnit.run(s.unit, id);
      this.units.set(id, s.unit);
    }
    return id;
  }

  /** Raw samples and their 1-minute aggregates of one series (inside a transaction). */
  private writeSeries(samples: Sample[]): void {
    const id = this.seriesId(samples[samples.length - 1]!);
    let agg: { ts: number; sum: number; min: number; max: number; count: number } | undefined;
    const put = () => agg && this.st.minute.run(id, agg.ts, agg.sum, agg.min, agg.max, agg.count);
    for (const s of samples) {
      if (!this.st.raw.run(id, s.ts, s.value).changes) continue; // already recorded
      const minute = Math.floor(s.ts / MINUTE) * MINUTE;
      if (agg && agg.ts === minute) {
        agg.sum += s.value;
        agg.min = Math.min(agg.min, s.value);
        agg.max = Math.max(agg.max, s.value);
        agg.count++;
      } else {
        put();
        agg = { ts: minute, sum: s.value, min: s.value, max: s.value, count: 1 };
      }
    }
    put();
  }

  /** Writes series from `series[from]` on, in one transaction, until `untilMs` (performance.now) passes; returns where it stopped. */
  private writeSome(series: Sample[][], from: number, untilMs = Infinity): number {
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
      const lost = series.slice(from, i + 1).reduce((n, l) => n + l.length, 0);
      this.log.warn({ err: (e as Error).message, samples: lost }, 'history: writing samples failed; they are not in the local history');
      return i + 1;
    }
    return i;
  }

  private takePending(): Sample[][] {
    const series = [...this.pending.values()];
    this.pending = new Map();
    this.pendingCount = 0;
    return series;
  }

  /** The periodic flush: slice by slice, yielding to ingest between slices. */
  private flushInSlices(): void {
    this.flushQueued = false;
    if (this.draining || !this.pendingCount) return;
    const d = (this.draining = { series: this.takePending(), next: 0 });
    const step = () => {
      if (this.draining !== d) return; // finished by a synchronous flush meanwhile
      d.next = this.writeSome(d.series, d.next, performance.now() + WRITE_SLICE_MS);
      if (d.next < d.series.length) setImmediate(step);
      else this.draining = undefined;
    };
    step();
  }

  /** Writes everything recorded so far, now (before a query, at close). */
  flush(): void {
    this.flushQueued = false;
    const d = this.draining;
    this.draining = undefined;
    if (d && d.next < d.series.length) this.writeSome(d.series, d.next);
    if (this.pendingCount) this.writeSome(this.takePending(), 0);
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
    return false;
  }

  query(device: string, plan: HistoryPlan): HistoryResult {
    this.flush();
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
