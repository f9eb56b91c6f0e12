import type { FastifyInstance } from 'fastify';
import type { GatewaySnapshot } from './snapshot.js';

/** GET /api/v1/status (everything), /api/v1/devices, /api/v1/alarms, and POST /api/v1/alarms/:id/ack. */
export function statusRoutes(deps: { snapshot(): GatewaySnapshot; acknowledge(alarmId: string, by: string): boolean }) {
  return (app: FastifyInstance) => {
    app.get('/healthz', { config: { access: 'public' } }, async () => {
      const s = deps.snapshot();
      return { ok: true, gatewayId: s.gatewayId, uptimeS: s.uptimeS, uplink: s.uplink.connected ? 'connected' : 'disconnected' };
    });
    app.get('/api/v1/status', async () => deps.snapshot());
    app.get('/api/v1/devices', async () => deps.snapshot().devices);
    app.get('/api/v1/alarms', async () => deps.snapshot().alarms);
    app.post<{ Params: { id: string }; Body: { by?: string } | undefined }>('/api/v1/alarms/:id/ack', async (req, reply) => {
      const by = typeof req.body?.by === 'string' && req.body.by.trim() ? req.body.by.trim().slice(0, 100) : 'local-console';
      if (!deps.acknowledge(req.params.id, by)) return reply.code(404).send({ error: `no active, unacknowledged alarm ${req.params.id}` });
      return { alarmId: req.params.id, state: 'acknowledged', by };
    });
  };
}
