import { createReadStream, existsSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { reportBody } from './body.js';
import type { ReportManager } from './manager.js';
import type { ReportState } from './state.js';

function summary(s: ReportState) {
  return {
    reportId: s.reportId,
    status: s.status,
    open: s.open,
    gridId: s.gridId,
    category: { kind: s.category.kind, code: s.category.code, name: s.category.minor.name },
    source: s.source,
    occurrences: s.occurrences,
    firstSeen: new Date(s.firstSeen).toISOString(),
    lastSeen: new Date(s.lastSeen).toISOString(),
    ...(s.caseId && { caseId: s.caseId }),
    ...(s.caseStatus && { caseStatus: s.caseStatus }),
    ...(s.verify && { verifying: { since: new Date(s.verify.handledAt).toISOString(), windowS: s.verify.windowS } }),
    ...(s.verification && { verification: s.verification }),
  };
}

/** GET /api/v1/reports (open, recent, refused), /api/v1/reports/:id, and the sensor-readings evidence files under /api/v1/readings/. */
export function reportsRoutes(deps: { manager: ReportManager; dataDir: string; timezone: string; recent(limit: number): ReportState[] }) {
  return (app: FastifyInstance) => {
    app.get('/api/v1/reports', async () => ({
      open: deps.manager.openReports().map(summary),
      recent: deps.recent(50).map(summary),
      refused: deps.manager.rejected,
      counters: deps.manager.counters,
    }));
    app.get<{ Params: { id: string } }>('/api/v1/reports/:id', async (req, reply) => {
      const s = deps.manager.get(req.params.id);
      if (!s) return reply.code(404).send({ error: `no case report ${req.params.id}` });
      return { ...summary(s), report: reportBody(s, s.status, deps.timezone) };
    });
    app.get<{ Params: { '*': string } }>('/api/v1/readings/*', async (req, reply) => {
      const root = join(deps.dataDir, 'readings');
      const path = normalize(join(root, req.params['*']));
      if (!path.startsWith(root + sep) || !existsSync(path)) return reply.code(404).send({ error: 'no such evidence file' });
      return reply.type('application/json').send(createReadStream(path));
    });
  };
}
