import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ApiConfig } from '../config/schema.js';
import { safeEqual } from '../southbound/broker/credentials.js';

/** A route module: registers its routes on the server (status, metrics, history, console, ...). */
export type ApiRoutes = (app: FastifyInstance) => void;

export function bearerToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7) : undefined;
}

/**
 * The gateway's local HTTP server. /healthz is open; /api/* needs the bearer token (refused outright when
 * none is configured: no default password); /metrics too unless metricsPublic. `authorize` lets the
 * console add its own session login.
 */
export function createApiServer(cfg: ApiConfig, log: Logger, routes: ApiRoutes[], opts: { authorize?: (req: FastifyRequest) => boolean } = {}): FastifyInstance {
  const https = cfg.tls ? { cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key) } : null;
  const app = (https ? Fastify({ https, logger: false }) : Fastify({ logger: false })) as unknown as FastifyInstance;
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    const guarded = path.startsWith('/api/') || (path === '/metrics' && !cfg.metricsPublic);
    if (!guarded) return;
    const token = bearerToken(req);
    if (token && cfg.token && safeEqual(token, cfg.token)) return;
    if (opts.authorize?.(req)) return;
    if (!cfg.token && !opts.authorize) return reply.code(403).send({ error: 'the API is off: set api.token in the gateway config' });
    return reply.code(401).send({ error: 'missing or wrong bearer token' });
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const code = err.statusCode ?? 500;
    if (code >= 500) log.error({ err: err.message }, 'api error');
    void reply.code(code).send({ error: err.message });
  });
  for (const r of routes) r(app);
  return app;
}
