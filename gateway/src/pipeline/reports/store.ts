import type { Db } from '../../store/db.js';
import type { ReportState } from './state.js';

/** Report states in the gateway's SQLite database: open ones are loaded at start, closed ones kept for the API. */
export class ReportStore {
  private readonly upsert;
  private readonly selectOpen;
  private readonly selectRecent;
  private readonly selectOne;

  constructor(db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS reports (
      report_id TEXT PRIMARY KEY, key TEXT NOT NULL, open INTEGER NOT NULL, status TEXT NOT NULL,
      state TEXT NOT NULL, updated_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS reports_open ON reports (open, key);
      CREATE INDEX IF NOT EXISTS reports_updated ON reports (updated_at)`);
    this.upsert = db.prepare(`INSERT INTO reports (report_id, key, open, status, state, updated_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT(report_id) DO UPDATE SET open = excluded.open, status = excluded.status, state = excluded.state, updated_at = excluded.updated_at`);
    this.selectOpen = db.prepare('SELECT state FROM reports WHERE open = 1');
    this.selectRecent = db.prepare('SELECT state FROM reports ORDER BY updated_at DESC LIMIT ?');
    this.selectOne = db.prepare('SELECT state FROM reports WHERE report_id = ?');
  }

  /** A write of this snapshot, to run inside the outbox commit that carries the message announcing it. */
  writer(s: ReportState, at: number): () => void {
    const json = JSON.stringify(s);
    const args = [s.reportId, s.key, s.open ? 1 : 0, s.status, json, at] as const;
    return () => void this.upsert.run(...args);
  }

  loadOpen(): ReportState[] {
    return (this.selectOpen.all() as Array<{ state: string }>).map((r) => JSON.parse(r.state) as ReportState);
  }

  recent(limit: number): ReportState[] {
    return (this.selectRecent.all(limit) as Array<{ state: string }>).map((r) => JSON.parse(r.state) as ReportState);
  }

  get(reportId: string): ReportState | undefined {
    const r = this.selectOne.get(reportId) as { state: string } | undefined;
    return r ? (JSON.parse(r.state) as ReportState) : undefined;
  }
}
