import type { CaseReport, CaseStatus } from '@gridgate/contract';
import { immediate, type Db } from '../store.js';
import type { CaseSystem, DeliveryResult } from './types.js';

export interface InboxCase {
  case_id: string;
  report_id: string;
  status: string;
  seq: number;
  report: string;
  created_at: number;
  updated_at: number;
}

/**
 * The embedded local case inbox: a small case system in the bridge's own SQLite, for deployments (and
 * the demo) without an external one. Each report becomes a case (GG-000001, ...); an operator moves it
 * through dispatched → handled → closed in the JSON API or the HTML list; the gateway's verified report
 * closes it (结案) and a reopened one puts it back in the queue.
 */
export class InboxCaseSystem implements CaseSystem {
  readonly name = 'inbox';

  constructor(
    private readonly db: Db,
    private readonly opts: { autoRegister: boolean; closeOnVerified: boolean; now?: () => number },
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS inbox_cases (
      n INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT UNIQUE, report_id TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
      seq INTEGER NOT NULL, report TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  async deliver(report: CaseReport): Promise<DeliveryResult> {
    const now = this.now();
    return immediate(this.db, () => {
      const existing = this.db.prepare('SELECT * FROM inbox_cases WHERE report_id = ?').get(report.reportId) as InboxCase | undefined;
      if (!existing) {
        const status = this.opts.autoRegister ? 'registered' : 'pending';
        const n = this.db.prepare('INSERT INTO inbox_cases (report_id, status, seq, report, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(report.reportId, status, report.seq, JSON.stringify(report), now, now).lastInsertRowid;
        const caseId = `GG-${String(n).padStart(6, '0')}`;
        this.db.prepare('UPDATE inbox_cases SET case_id = ? WHERE n = ?').run(caseId, n);
        return { caseId, ...(this.opts.autoRegister && { status: 'registered' as const }) };
      }
      if (report.seq > existing.seq) this.db.prepare('UPDATE inbox_cases SET seq = ?, report = ?, updated_at = ? WHERE report_id = ?').run(report.seq, JSON.stringify(report), now, report.reportId);
      if (report.status === 'reopened') {
        this.db.prepare("UPDATE inbox_cases SET status = 'reopened', updated_at = ? WHERE report_id = ?").run(now, report.reportId);
        return { caseId: existing.case_id };
      }
      if (report.status === 'verified' && this.opts.closeOnVerified && existing.status !== 'closed') {
        this.db.prepare("UPDATE inbox_cases SET status = 'closed', updated_at = ? WHERE report_id = ?").run(now, report.reportId);
        return { caseId: existing.case_id, status: 'closed', note: 'closed on the gateway’s verification' };
      }
      return { caseId: existing.case_id };
    });
  }

  list(limit = 200): InboxCase[] {
    return this.db.prepare('SELECT * FROM inbox_cases ORDER BY n DESC LIMIT ?').all(limit) as InboxCase[];
  }

  get(caseId: string): InboxCase | undefined {
    return this.db.prepare('SELECT * FROM inbox_cases WHERE case_id = ?').get(caseId) as InboxCase | undefined;
  }

  /** The operator's action on a case; returns the report it belongs to. */
  setStatus(caseId: string, status: CaseStatus): string | undefined {
    const c = this.get(caseId);
    if (!c) return undefined;
    this.db.prepare('UPDATE inbox_cases SET status = ?, updated_at = ? WHERE case_id = ?').run(status, this.now(), caseId);
    return c.report_id;
  }
}
