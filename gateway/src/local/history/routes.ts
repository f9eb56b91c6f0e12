import type { FastifyInstance } from 'fastify';
import type { HistoryConfig } from './config.js';
import { planHistory, type HistoryParams } from './query.js';
import type { HistoryStore } from './store.js';

/**
 * GET /api/v1/devices/:id/metrics?from&to&step&metric — a device's history for the console and field
 * engineers. from/to: ISO 8601, Unix ms, `now` or `-6h`; step: `raw`, `30s`, `5m`, `1h`; metric: a
 * comma-separated list (default: all).
 */
export function historyRoutes(deps: { store: HistoryStore; cfg: HistoryConfig; isDevice(id: string): boolean; now?: () => number }) {
  return (app: FastifyInstance) => {
    app.get<{ Params: { id: string }; Querystring: HistoryParams }>('/api/v1/devices/:id/metrics', async (req, reply) => {
      const id = req.params.id;
      if (!deps.isDevice(id) && !deps.store.hasDevice(id)) return reply.code(404).send({ error: `no device "${id}" on this gateway` });
      const now = (deps.now ?? Date.now)();
      const plan = planHistory(req.query, now, deps.cfg);
      if ('error' in plan) return reply.code(400).send({ error: plan.error });
      const r = deps.store.query(id, plan);
      return {
        deviceId: id,
        from: new Date(plan.from).toISOString(),
        to: new Date(plan.to).toISOString(),
        step: plan.stepMs === 0 ? 'raw' : `${plan.stepMs / 1000}s`,
        source: r.source === 'raw' ? 'raw' : '1m',
        ...(plan.note && { note: plan.note }),
        ...(r.truncated && { truncated: true }),
        metrics: r.metrics,
      };
    });
  };
}
