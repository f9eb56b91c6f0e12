import type { CaseReport } from '@gridgate/contract';
import type { Logger } from 'pino';
import { PermanentError, type CaseSystem } from './adapters/types.js';
import type { BridgeConfig } from './config.js';
import { immediate, type Db, type DeliveryRow, type ReportRow } from './store.js';
import type { CaseTracker } from './tracker.js';
import { backoffMs } from './util.js';

export interface DeliveryCounters {
  delivered: number;
  retried: number;
  dead: number;
  stale: number;
}

/**
 * Delivers stored reports to the case system. Any instance may deliver any report: a delivery is claimed
 * with a lease in SQLite (an instance that dies mid-delivery loses it after leaseS). Per report, strictly
 * in the gateway's sequence: a later message waits while an earlier one is pending, and a message older
 * than what was delivered is skipped. Failures back off per delivery and pause this instance's whole queue,
 * so a case system that is down sees about one attempt per backoff interval, not one per report.
 */
export class DeliveryWorker {
  readonly counters: DeliveryCounters = { delivered: 0, retried: 0, dead: 0, stale: 0 };
  private inflight = 0;
  private timer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;
  private stopped = false;
  private failures = 0;
  private pausedUntil = 0;
  private readonly claimStmt;
  private readonly leaseStmt;

  constructor(
    private readonly db: Db,
    private readonly system: CaseSystem,
    private readonly tracker: CaseTracker,
    private readonly cfg: BridgeConfig['delivery'],
    private readonly instanceId: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.claimStmt = db.prepare(`
      SELECT d.* FROM deliveries d JOIN reports r ON r.report_id = d.report_id
      WHERE d.state = 'pending' AND d.next_at <= @now AND (d.lease_until IS NULL OR d.lease_until < @now)
        AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.report_id = d.report_id AND e.state = 'pending' AND e.id <> d.id
                        AND (e.seq < d.seq OR e.lease_until >= @now))
        AND (d.status = 'new' OR r.delivered_seq >= 0 OR d.created_at <= @holdBefore)
      ORDER BY d.next_at, d.id LIMIT 1`);
    this.leaseStmt = db.prepare('UPDATE deliveries SET claimed_by = ?, lease_until = ? WHERE id = ?');
  }

  start(): void {
    this.timer = setInterval(() => this.pump(), 200);
    this.timer.unref();
    if (this.system.poll && this.system.pollEveryMs) {
      this.pollTimer = setInterval(() => void this.pollStatuses(), this.system.pollEveryMs);
      this.pollTimer.unref();
    }
  }

  /** Starts deliveries while there is capacity and due work. */
  pump(): void {
    // While the case system is failing, one probe at a time; full concurrency once it answers again.
    const limit = this.failures > 0 ? 1 : this.cfg.concurrency;
    while (!this.stopped && this.inflight < limit && this.now() >= this.pausedUntil) {
      const job = this.claim();
      if (!job) return;
      this.inflight++;
      void this.run(job).finally(() => {
        this.inflight--;
        this.pump();
      });
    }
  }

  private claim(): DeliveryRow | undefined {
    const now = this.now();
    return immediate(this.db, () => {
      const row = this.claimStmt.get({ now, holdBefore: now - this.cfg.orderHoldS * 1000 }) as DeliveryRow | undefined;
      if (row) this.leaseStmt.run(this.instanceId, now + this.cfg.leaseS * 1000, row.id);
      return row;
    });
  }

  private async run(job: DeliveryRow): Promise<void> {
    const row = this.tracker.report(job.report_id)!;
    if (job.seq <= row.delivered_seq) {
      this.db.prepare("UPDATE deliveries SET state = 'skipped', done_at = ?, lease_until = NULL, last_error = ? WHERE id = ?").run(this.now(), `older than the delivered seq ${row.delivered_seq}`, job.id);
      this.counters.stale++;
      return;
    }
    const report = JSON.parse(job.payload) as CaseReport;
    try {
      const res = await this.system.deliver(report, { ...(row.case_id && { caseId: row.case_id }), caseStatus: row.case_status });
      const now = this.now();
      immediate(this.db, () => {
        this.db.prepare("UPDATE deliveries SET state = 'done', done_at = ?, lease_until = NULL, attempts = attempts + 1, last_error = NULL WHERE id = ?").run(now, job.id);
        this.db.prepare('UPDATE reports SET delivered_seq = max(delivered_seq, ?), case_id = coalesce(?, case_id), updated_at = ? WHERE report_id = ?').run(job.seq, res.caseId ?? null, now, job.report_id);
        if (res.caseId && res.caseId !== row.case_id) this.db.prepare('INSERT INTO case_events (report_id, at, event, source, note) VALUES (?, ?, ?, ?, ?)').run(job.report_id, now, 'case-id', this.system.name, res.caseId);
      });
      this.counters.delivered++;
      this.failures = 0;
      this.log.info({ reportId: job.report_id, status: job.status, seq: job.seq, caseId: res.caseId ?? row.case_id, adapter: this.system.name }, 'report delivered');
      if (res.status) this.tracker.apply(job.report_id, res.status, this.system.name, { ...(res.caseId && { caseId: res.caseId }), ...(res.note && { note: res.note }) });
    } catch (e) {
      this.failed(job, e as Error);
    }
  }

  private failed(job: DeliveryRow, err: Error): void {
    const now = this.now();
    const r = this.cfg.retry;
    const why = err.name === 'TimeoutError' ? `no answer within ${this.cfg.timeoutMs} ms` : err.message;
    const giveUp = now - job.created_at >= r.giveUpAfterS * 1000;
    if (err instanceof PermanentError || giveUp) {
      const reason = err instanceof PermanentError ? `refused by the case system: ${why}` : `not delivered after ${job.attempts + 1} attempts over ${Math.round((now - job.created_at) / 1000)} s: ${why}`;
      immediate(this.db, () => {
        this.db.prepare("UPDATE deliveries SET state = 'dead', done_at = ?, lease_until = NULL, attempts = attempts + 1, last_error = ? WHERE id = ?").run(now, reason, job.id);
        this.db
          .prepare("INSERT INTO dead_letters (at, kind, topic, reason, payload, message_id, report_id) VALUES (?, 'undeliverable', ?, ?, ?, ?, ?)")
          .run(now, `delivery/${this.system.name}`, reason, job.payload, job.message_id, job.report_id);
      });
      this.counters.dead++;
      this.log.error({ reportId: job.report_id, seq: job.seq, reason }, 'report not deliverable: kept as a dead letter');
      return;
    }
    const wait = backoffMs(job.attempts + 1, r.minMs, r.maxMs);
    this.db.prepare('UPDATE deliveries SET attempts = attempts + 1, next_at = ?, lease_until = NULL, last_error = ? WHERE id = ?').run(now + wait, why, job.id);
    this.counters.retried++;
    // One failing case system: the whole queue of this instance waits, then sends one probe.
    this.failures++;
    this.pausedUntil = now + backoffMs(this.failures, r.minMs, r.maxMs);
    this.log.warn({ reportId: job.report_id, seq: job.seq, attempt: job.attempts + 1, retryInMs: wait, err: why }, 'delivery failed; will retry');
  }

  /** Asks the case system for the status of open cases (Open311) and applies what changed. */
  async pollStatuses(): Promise<void> {
    if (!this.system.poll) return;
    const open = this.db.prepare("SELECT report_id, case_id FROM reports WHERE case_id IS NOT NULL AND case_status NOT IN ('handled', 'closed', 'rejected')").all() as Array<Pick<ReportRow, 'report_id' | 'case_id'>>;
    if (!open.length) return;
    try {
      const now = this.now();
      const asked = new Map(open.map((o) => [o.report_id, o.case_id!]));
      for (const s of await this.system.poll(open.map((o) => ({ reportId: o.report_id, caseId: o.case_id! })))) {
        this.tracker.apply(s.reportId, s.status, `${this.system.name}-poll`, { ...(s.caseId && { caseId: s.caseId }), at: Math.min(s.at ?? now, now), ...(s.note && { note: s.note }), ifCaseId: asked.get(s.reportId)! });
      }
    } catch (e) {
      this.log.warn({ adapter: this.system.name, err: (e as Error).message }, 'status poll failed; will try again');
    }
  }

  pending(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM deliveries WHERE state = 'pending'").get() as { n: number }).n;
  }

  async stop(timeoutMs = 5000): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.pollTimer);
    const deadline = Date.now() + timeoutMs;
    while (this.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
}
