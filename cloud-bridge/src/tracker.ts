import { Command, type CaseReport, type CaseStatus } from '@gridgate/contract';
import type { Logger } from 'pino';
import { advances } from './cases.js';
import { immediate, type Db, type ReportRow } from './store.js';
import { uuidv7 } from '@gridgate/contract';

export class UnknownReport extends Error {}

/**
 * Each report's case: its id and status in the case system, the times of each step, and the status
 * commands that go back to the gateway. Every change is one SQLite transaction, so statuses arriving
 * through several instances, pollers and callbacks apply once, in order.
 */
export class CaseTracker {
  private readonly getRow;
  private readonly insertEvent;
  private readonly insertDownlink;

  constructor(
    private readonly db: Db,
    private readonly opts: { forward: CaseStatus[]; topicPrefix: string; log: Logger; now?: () => number },
  ) {
    this.getRow = db.prepare('SELECT * FROM reports WHERE report_id = ?');
    this.insertEvent = db.prepare('INSERT INTO case_events (report_id, at, event, source, note) VALUES (?, ?, ?, ?, ?)');
    this.insertDownlink = db.prepare(
      `INSERT INTO downlinks (id, report_id, gateway_id, topic, payload, status, state, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
    );
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  report(reportId: string): ReportRow | undefined {
    return this.getRow.get(reportId) as ReportRow | undefined;
  }

  /**
   * A status from the case system (an adapter's answer, a poll, a callback, the inbox operator). Applies it if
   * it moves the case forward; forwards it to the gateway as a case.status command. Returns whether it applied.
   * `ifCaseId`: apply only while the report is still at that case (what a poll asked about).
   */
  apply(reportId: string, status: CaseStatus, source: string, opts: { caseId?: string; at?: number; note?: string; ifCaseId?: string } = {}): boolean {
    const now = this.now();
    const at = opts.at ?? now;
    return immediate(this.db, () => {
      const r = this.report(reportId);
      if (!r) throw new UnknownReport(`no report ${reportId}`);
      // A poll answer about a case the report has since left (reopened as a new request) is stale.
      if (opts.ifCaseId !== undefined && r.case_id !== opts.ifCaseId) return false;
      const caseId = opts.caseId ?? r.case_id ?? undefined;
      if (opts.caseId && opts.caseId !== r.case_id) this.db.prepare('UPDATE reports SET case_id = ? WHERE report_id = ?').run(opts.caseId, reportId);
      if (!advances(r.case_status, status)) return false;
      const col: Partial<Record<CaseStatus, string>> = { registered: 'registered_at', dispatched: 'dispatched_at', handled: 'handled_at' };
      const sets = ['case_status = @status', 'updated_at = @now'];
      // First times only: a reworked case keeps when it was first registered, dispatched and handled.
      if (col[status]) sets.push(`${col[status]} = coalesce(${col[status]}, @at)`);
      if (status === 'handled') sets.push('handled_count = handled_count + 1');
      if (status === 'closed') sets.push('closed_at = @at');
      this.db.prepare(`UPDATE reports SET ${sets.join(', ')} WHERE report_id = @id`).run({ status, now, at, id: reportId });
      this.insertEvent.run(reportId, at, status, source, opts.note ?? null);
      if (this.opts.forward.includes(status)) this.enqueueCommand(r, status, at, caseId, opts.note);
      this.opts.log.info({ reportId, caseId, status, source }, 'case status');
      return true;
    });
  }

  /** Inside the intake transaction: what the gateway's own report status says about the case. */
  onReport(r: ReportRow | undefined, m: CaseReport, at: number): void {
    if (!r) return;
    if (m.status === 'verified') {
      this.db.prepare('UPDATE reports SET verified_at = coalesce(verified_at, ?) WHERE report_id = ?').run(at, m.reportId);
      this.insertEvent.run(m.reportId, at, 'verified', 'gateway', null);
    } else if (m.status === 'reopened') {
      // The fix did not hold: the case goes round again, and counts as rework.
      this.db.prepare("UPDATE reports SET reopen_count = reopen_count + 1, case_status = 'reopened', verified_at = NULL WHERE report_id = ?").run(m.reportId);
      this.insertEvent.run(m.reportId, at, 'reopened', 'gateway', m.verification?.detail.en ?? null);
    }
  }

  private enqueueCommand(r: ReportRow, status: CaseStatus, at: number, caseId: string | undefined, note: string | undefined): void {
    const now = this.now();
    const id = uuidv7(now);
    const cmd = {
      id,
      ts: new Date(now).toISOString(),
      command: 'case.status' as const,
      reportId: r.report_id,
      ...(caseId && { caseId: caseId.slice(0, 100) }),
      status,
      at: new Date(at).toISOString(),
      ...(note && { note: note.slice(0, 500) }),
    };
    Command.parse(cmd);
    this.insertDownlink.run(id, r.report_id, r.gateway_id, `${this.opts.topicPrefix}/${r.gateway_id}/cmd`, JSON.stringify(cmd), status, now, now);
  }
}
