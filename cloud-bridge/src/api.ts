import { createHmac, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { CaseStatus, type CaseReport } from '@gridgate/contract';
import type { InboxCaseSystem } from './adapters/inbox.js';
import { caseTimings, type CaseFigures } from './cases.js';
import type { BridgeConfig } from './config.js';
import type { Db, DeadLetterRow, ReportRow } from './store.js';
import { UnknownReport, type CaseTracker } from './tracker.js';
import { inboxPage } from './inbox-page.js';

export interface ApiDeps {
  db: Db;
  cfg: BridgeConfig;
  tracker: CaseTracker;
  inbox?: InboxCaseSystem;
  figures(): CaseFigures;
  stats(): Record<string, unknown>;
  health(): Record<string, unknown>;
  metrics: Registry;
  /** Wake the delivery worker (a dead letter was re-queued). */
  poke(): void;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Bearer token, or the token as the password of HTTP Basic auth (what a browser can send for the inbox page). */
function presented(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return h.slice(7);
  if (h?.startsWith('Basic ')) {
    const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1);
  }
  return undefined;
}

export function reportSummary(r: ReportRow, now: number) {
  const latest = JSON.parse(r.latest) as CaseReport;
  return {
    reportId: r.report_id,
    gatewayId: r.gateway_id,
    status: r.status,
    gridId: r.grid_id,
    category: { kind: latest.category.kind, code: latest.category.code, name: latest.category.minor.name },
    severity: latest.severity,
    occurrences: latest.occurrences,
    caseId: r.case_id,
    caseStatus: r.case_status,
    firstSeen: latest.firstSeen,
    deadlines: latest.deadlines,
    reopenCount: r.reopen_count,
    ...(r.verified_at !== null && { verifiedAt: new Date(r.verified_at).toISOString() }),
    timings: caseTimings(r, now),
  };
}

/** The bridge's HTTP API: reports and their cases, the local inbox (JSON and HTML), dead letters, figures, metrics. */
export function createApi(d: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 }) as unknown as FastifyInstance;
  const token = d.cfg.api.token;
  const csrf = token ? createHmac('sha256', token).update('gridgate-bridge inbox form').digest('hex') : '';
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    const guarded = path.startsWith('/api/') || path.startsWith('/inbox') || (path === '/metrics' && !d.cfg.api.metricsPublic);
    if (!guarded) return;
    if (!token) return reply.code(403).send({ error: 'the API is off: set api.token in the bridge config' });
    const t = presented(req);
    if (t && safeEqual(t, token)) return;
    if (path.startsWith('/inbox')) void reply.header('www-authenticate', 'Basic realm="gridgate-bridge inbox", charset="UTF-8"');
    return reply.code(401).send({ error: 'missing or wrong token (Bearer, or the Basic-auth password)' });
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    void reply.code(err.statusCode ?? 500).send({ error: err.message });
  });

  app.get('/healthz', async () => d.health());
  app.get('/metrics', async (_req, reply) => reply.type(d.metrics.contentType).send(await d.metrics.metrics()));

  app.get<{ Querystring: { limit?: string; caseStatus?: string } }>('/api/v1/reports', async (req) => {
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 200) || 200));
    const rows = (req.query.caseStatus
      ? d.db.prepare('SELECT * FROM reports WHERE case_status = ? ORDER BY first_seen DESC LIMIT ?').all(req.query.caseStatus, limit)
      : d.db.prepare('SELECT * FROM reports ORDER BY first_seen DESC LIMIT ?').all(limit)) as ReportRow[];
    const now = Date.now();
    return rows.map((r) => reportSummary(r, now));
  });

  app.get<{ Params: { id: string } }>('/api/v1/reports/:id', async (req, reply) => {
    const r = d.tracker.report(req.params.id);
    if (!r) return reply.code(404).send({ error: `no report ${req.params.id}` });
    return {
      ...reportSummary(r, Date.now()),
      report: JSON.parse(r.latest) as unknown,
      events: d.db.prepare('SELECT at, event, source, note FROM case_events WHERE report_id = ? ORDER BY id').all(r.report_id),
      deliveries: d.db.prepare('SELECT message_id, seq, status, state, attempts, last_error, done_at FROM deliveries WHERE report_id = ? ORDER BY seq').all(r.report_id),
      downlinks: d.db.prepare('SELECT id, status, state, sent_at, reply_ok, reply_error FROM downlinks WHERE report_id = ? ORDER BY created_at').all(r.report_id),
    };
  });

  /** The case system's callback (or an operator): a status for the report's case. */
  const setStatus = (reportId: string, body: unknown, source: string) => {
    const b = (body ?? {}) as { status?: unknown; caseId?: unknown; note?: unknown };
    const status = CaseStatus.safeParse(b.status);
    if (!status.success) return { code: 400, body: { error: `status must be one of ${CaseStatus.options.join(', ')}` } };
    try {
      const applied = d.tracker.apply(reportId, status.data, source, {
        ...(typeof b.caseId === 'string' && b.caseId && { caseId: b.caseId.slice(0, 100) }),
        ...(typeof b.note === 'string' && b.note && { note: b.note.slice(0, 500) }),
      });
      const r = d.tracker.report(reportId)!;
      if (!applied) return { code: 409, body: { error: `case of report ${reportId} is ${r.case_status}: ${status.data} does not move it forward`, caseStatus: r.case_status } };
      if (d.inbox && r.case_id) d.inbox.setStatus(r.case_id, status.data);
      return { code: 200, body: { reportId, caseId: r.case_id, caseStatus: r.case_status } };
    } catch (e) {
      if (e instanceof UnknownReport) return { code: 404, body: { error: e.message } };
      throw e;
    }
  };

  app.post<{ Params: { id: string } }>('/api/v1/reports/:id/case', async (req, reply) => {
    const r = setStatus(req.params.id, req.body, 'api');
    return reply.code(r.code).send(r.body);
  });

  app.get('/api/v1/cases', async (_req, reply) => {
    if (!d.inbox) return reply.code(404).send({ error: `the local inbox is not in use (delivery.adapter is ${d.cfg.delivery.adapter})` });
    return d.inbox.list().map((c) => ({ caseId: c.case_id, reportId: c.report_id, status: c.status, report: JSON.parse(c.report) as unknown, createdAt: new Date(c.created_at).toISOString(), updatedAt: new Date(c.updated_at).toISOString() }));
  });

  app.post<{ Params: { caseId: string } }>('/api/v1/cases/:caseId/status', async (req, reply) => {
    const c = d.inbox?.get(req.params.caseId);
    if (!c) return reply.code(404).send({ error: `no case ${req.params.caseId} in the local inbox` });
    const r = setStatus(c.report_id, req.body, 'inbox');
    return reply.code(r.code).send(r.body);
  });

  app.get<{ Querystring: { limit?: string } }>('/api/v1/dead-letters', async (req) => {
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 100) || 100));
    return (d.db.prepare('SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?').all(limit) as DeadLetterRow[]).map((x) => ({
      id: x.id,
      at: new Date(x.at).toISOString(),
      kind: x.kind,
      topic: x.topic,
      reason: x.reason,
      messageId: x.message_id,
      reportId: x.report_id,
      retriedAt: x.retried_at === null ? null : new Date(x.retried_at).toISOString(),
      payload: x.payload,
    }));
  });

  app.post<{ Params: { id: string } }>('/api/v1/dead-letters/:id/retry', async (req, reply) => {
    const x = d.db.prepare('SELECT * FROM dead_letters WHERE id = ?').get(Number(req.params.id)) as DeadLetterRow | undefined;
    if (!x) return reply.code(404).send({ error: `no dead letter ${req.params.id}` });
    if (x.kind !== 'undeliverable' || !x.message_id) return reply.code(409).send({ error: 'an invalid message cannot be retried: the sender has to fix it' });
    const now = Date.now();
    d.db.transaction(() => {
      d.db.prepare("UPDATE deliveries SET state = 'pending', attempts = 0, next_at = ?, created_at = ?, last_error = NULL, lease_until = NULL WHERE message_id = ?").run(now, now, x.message_id);
      d.db.prepare('UPDATE dead_letters SET retried_at = ? WHERE id = ?').run(now, x.id);
    })();
    d.poke();
    return { retried: x.id, messageId: x.message_id };
  });

  app.get('/api/v1/stats', async () => ({ ...d.figures(), ...d.stats() }));

  app.get('/inbox', async (_req, reply) => {
    const cases = d.inbox?.list() ?? [];
    const reports = new Map(cases.map((c) => [c.report_id, d.tracker.report(c.report_id)]));
    return reply.type('text/html; charset=utf-8').send(inboxPage({ cases, reports, figures: d.figures(), timezone: d.cfg.timezone, csrf, adapter: d.cfg.delivery.adapter, now: Date.now() }));
  });

  app.post<{ Params: { caseId: string }; Body: Record<string, string> }>('/inbox/cases/:caseId/status', async (req, reply) => {
    if (!csrf || req.body?.csrf !== csrf) return reply.code(403).send({ error: 'form token missing or wrong: reload the inbox page' });
    const c = d.inbox?.get(req.params.caseId);
    if (!c) return reply.code(404).send({ error: `no case ${req.params.caseId}` });
    const r = setStatus(c.report_id, { status: req.body.status }, 'inbox');
    if (r.code !== 200) return reply.code(r.code).send(r.body);
    return reply.redirect('/inbox', 303);
  });

  return app;
}
