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

const FLUSH_MS = 250;
const FLUSH_AT = 5000;
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
  private buffer: Sample[] = [];
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
    this.timers.push(setInterval(() => this.flush(), FLUSH_MS), setInterval(() => this.prune(), PRUNE_MS));
    for (const t of this.timers) t.unref();
    setImmediate(() => this.prune());
  }

  /** Records the numeric and boolean metrics of one uplink (strings are not history). */
  add(device: string, ts: number, metrics: Record<string, { value: number | boolean | string; unit?: string }>): void {
    for (const [metric, m] of Object.entries(metrics)) {
      const value = typeof m.value === 'boolean' ? (m.value ? 1 : 0) : m.value;
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      this.buffer.push({ device, metric, ...(m.unit && { unit: m.unit }), ts, value });
    }
    if (this.buffer.length >= FLUSH_AT && !this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => this.flush());
    }
  }

  private seriesId(s: Sample, units: Map<number, string | undefined>): number {
    const k = key(s.device, s.metric);
    let id = this.ids.get(k);
    if (id === undefined) {
      id = this.st.series.get(s.device, s.metric, s.unit ?? null) as number;
      this.ids.set(k, id);
    } else if (s.unit !== undefined) units.set(id, s.unit);
    return id;
  }

  flush(): void {
    this.flushQueued = false;
    if (!this.buffer.length) return;
    const batch = this.buffer;
    this.buffer = [];
    try {
      this.db.transaction(() => {
        const agg = new Map<string, { id: number; ts: number; sum: number; min: number; max: number; count: number }>();
        const units = new Map<number, string | undefined>();
        for (const s of batch) {
          const id = this.seriesId(s, units);
          if (!this.st.raw.run(id, s.ts, s.value).changes) continue; // already recorded
          const minute = Math.floor(s.ts / MINUTE) * MINUTE;
          const k = `${id}:${minute}`;
          const a = agg.get(k);
          if (a) {
            a.sum += s.value;
            a.min = Math.min(a.min, s.value);
            a.max = Math.max(a.max, s.value);
            a.count++;
          } else agg.set(k, { id, ts: minute, sum: s.value, min: s.value, max: s.value, count: 1 });
        }
        for (const a of agg.values()) this.st.minute.run(a.id, a.ts, a.sum, a.min, a.max, a.count);
        for (const [id, unit] of units) this.st.seriesUnit.run(unit ?? null, id);
      })();
    } catch (e) {
      this.loadSeries(); // series created in the failed transaction were rolled back
      this.log.warn({ err: (e as Error).message, samples: batch.length }, 'history: writing samples failed; they are not in the local history');
    }
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
