import { CaseReport, CommandReply } from '@gridgate/contract';
import type { Logger } from 'pino';
import { immediate, type Db, type ReportRow } from './store.js';
import type { CaseTracker } from './tracker.js';

export type Parsed =
  | { ok: true; kind: 'report'; gatewayId: string; report: CaseReport }
  | { ok: true; kind: 'reply'; gatewayId: string; reply: CommandReply }
  | { ok: false; reason: string; gatewayId?: string };

/** Where a topic sits in the contract: {prefix}/{gatewayId}/report or {prefix}/{gatewayId}/cmd/reply. */
export function topicKind(topic: string, prefix: string): { kind: 'report' | 'reply'; gatewayId: string } | undefined {
  if (!topic.startsWith(prefix + '/')) return undefined;
  const rest = topic.slice(prefix.length + 1).split('/');
  if (rest.length === 2 && rest[1] === 'report') return { kind: 'report', gatewayId: rest[0]! };
  if (rest.length === 3 && rest[1] === 'cmd' && rest[2] === 'reply') return { kind: 'reply', gatewayId: rest[0]! };
  return undefined;
}

/** Parses and validates one message against the contract. Pure: says what it is or exactly why it is refused. */
export function parseMessage(topic: string, payload: Buffer, prefix: string): Parsed {
  const where = topicKind(topic, prefix);
  if (!where) return { ok: false, reason: `topic ${topic} is not a report or command-reply topic under ${prefix}` };
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    return { ok: false, gatewayId: where.gatewayId, reason: `not JSON: ${(e as Error).message}` };
  }
  const schema = where.kind === 'report' ? CaseReport : CommandReply;
  const r = schema.safeParse(json);
  if (!r.success) {
    const why = r.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ok: false, gatewayId: where.gatewayId, reason: `not a valid ${where.kind === 'report' ? 'CaseReport' : 'CommandReply'}: ${why}` };
  }
  if (r.data.gatewayId !== where.gatewayId) return { ok: false, gatewayId: where.gatewayId, reason: `gatewayId ${r.data.gatewayId} does not match the topic's ${where.gatewayId}` };
  return where.kind === 'report' ? { ok: true, kind: 'report', gatewayId: where.gatewayId, report: r.data as CaseReport } : { ok: true, kind: 'reply', gatewayId: where.gatewayId, reply: r.data as CommandReply };
}

export type IntakeResult = 'stored' | 'duplicate' | 'dead-letter' | 'reply';

/**
 * Takes one message off the central broker. Runs before the broker gets its PUBACK: once this returns,
 * the message is in SQLite (stored, recognised as a duplicate, or dead-lettered), so a crash never loses it.
 */
export class Intake {
  private readonly insertMessage;
  private readonly insertDelivery;
  private readonly insertDead;
  private readonly getReport;

  constructor(
    private readonly db: Db,
    private readonly tracker: CaseTracker,
    private readonly opts: { instanceId: string; topicPrefix: string; log: Logger; now?: () => number; onStored?: () => void },
  ) {
    this.insertMessage = db.prepare('INSERT OR IGNORE INTO messages (id, gateway_id, seq, type, report_id, topic, received_at, received_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.insertDelivery = db.prepare('INSERT OR IGNORE INTO deliveries (message_id, report_id, gateway_id, seq, status, payload, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.insertDead = db.prepare("INSERT INTO dead_letters (at, kind, topic, reason, payload, message_id, report_id) VALUES (?, 'invalid', ?, ?, ?, ?, ?)");
    this.getReport = db.prepare('SELECT * FROM reports WHERE report_id = ?');
  }

  accept(topic: string, payload: Buffer): IntakeResult {
    const now = this.opts.now?.() ?? Date.now();
    const p = parseMessage(topic, payload, this.opts.topicPrefix);
    if (!p.ok) {
      const loose = looseIds(payload);
      this.insertDead.run(now, topic, p.reason, payload.toString('utf8').slice(0, 256 * 1024), loose.id ?? null, loose.reportId ?? null);
      this.opts.log.warn({ topic, reason: p.reason }, 'message refused: kept as a dead letter');
      return 'dead-letter';
    }
    if (p.kind === 'reply') {
      this.db.prepare('UPDATE downlinks SET reply_ok = ?, reply_error = ? WHERE id = ?').run(p.reply.ok ? 1 : 0, p.reply.error ?? null, p.reply.requestId);
      return 'reply';
    }
    const m = p.report;
    const stored = immediate(this.db, () => {
      if (this.insertMessage.run(m.id, m.gatewayId, m.seq, m.type, m.reportId, topic, now, this.opts.instanceId).changes === 0) return false;
      const row = this.getReport.get(m.reportId) as ReportRow | undefined;
      if (!row) {
        this.db
          .prepare(
            `INSERT INTO reports (report_id, gateway_id, status, latest_seq, latest, grid_id, category_code, first_seen, register_by, dispatch_by, result_by, received_at, updated_at)
             VALUES (@reportId, @gatewayId, @status, @seq, @latest, @gridId, @code, @firstSeen, @registerBy, @dispatchBy, @resultBy, @now, @now)`,
          )
          .run({
            reportId: m.reportId,
            gatewayId: m.gatewayId,
            status: m.status,
            seq: m.seq,
            latest: JSON.stringify(m),
            gridId: m.gridId,
            code: m.category.code,
            firstSeen: Date.parse(m.firstSeen),
            registerBy: Date.parse(m.deadlines.registerBy),
            dispatchBy: Date.parse(m.deadlines.dispatchBy),
            resultBy: Date.parse(m.deadlines.resultBy),
            now,
          });
      } else if (m.seq > row.latest_seq) {
        this.db.prepare('UPDATE reports SET status = ?, latest_seq = ?, latest = ?, grid_id = ?, updated_at = ? WHERE report_id = ?').run(m.status, m.seq, JSON.stringify(m), m.gridId, now, m.reportId);
      }
      this.tracker.onReport((this.getReport.get(m.reportId) as ReportRow | undefined) ?? row, m, now);
      this.insertDelivery.run(m.id, m.reportId, m.gatewayId, m.seq, m.status, JSON.stringify(m), now, now);
      return true;
    });
    if (!stored) return 'duplicate';
    this.opts.onStored?.();
    return 'stored';
  }
}

/** Ids from a payload that did not validate, so a dead letter can still be found by them. */
function looseIds(payload: Buffer): { id?: string; reportId?: string } {
  try {
    const j = JSON.parse(payload.toString('utf8')) as { id?: unknown; reportId?: unknown };
    return { ...(typeof j.id === 'string' && { id: j.id.slice(0, 64) }), ...(typeof j.reportId === 'string' && { reportId: j.reportId.slice(0, 64) }) };
  } catch {
    return {};
  }
}
