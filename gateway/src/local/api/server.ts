import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ApiConfig } from './config.js';
import { safeEqual } from '../../southbound/broker/credentials.js';

/** A route module: registers its routes on the server (status, metrics, history, console, ...). */
export type ApiRoutes = (app: FastifyInstance) => void;

/**
 * Who may call a route, declared where the route is registered (`config: { access: 'public' }`). A route that
 * declares nothing needs the bearer token or a console login: deny by default, so a route added later is
 * guarded without anyone remembering to guard it.
 */
export type RouteAccess = 'token' | 'public' | 'metrics';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `public`: anyone; `metrics`: anyone when api.metricsPublic, else as `token`; absent or `token`: the token or a console login. */
    access?: RouteAccess;
  }
}

/** A registered route and who may call it: what `api routes` logs at debug level, and what the security test walks. */
export interface ApiRouteInfo {
  method: string;
  url: string;
  access: RouteAccess;
}

export function bearerToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7) : undefined;
}

/**
 * The gateway's local HTTP server. Access is decided on the route the router matched, never on the URL
 * text: the router decodes %61pi to api, so a check on the raw URL let encoded paths through. Routes say
 * `access: 'public'` (/healthz, the console page, login) or `'metrics'`; every other route needs the bearer
 * token (refused outright when none is configured: no default password) or what `authorize` accepts (the
 * console's session login). A URL that matches no route is a bare 404.
 */
export function createApiServer(cfg: ApiConfig, log: Logger, routes: ApiRoutes[], opts: { authorize?: (req: FastifyRequest) => boolean } = {}): FastifyInstance {
  const https = cfg.tls ? { cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key) } : null;
  const app = (https ? Fastify({ https, logger: false }) : Fastify({ logger: false })) as unknown as FastifyInstance;
  const table: ApiRouteInfo[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) table.push({ method, url: r.url, access: r.config?.access ?? 'token' });
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.is404) return; // answered by the not-found handler below, which says nothing about the server
    const access = req.routeOptions.config.access ?? 'token';
    if (access === 'public' || (access === 'metrics' && cfg.metricsPublic)) return;
    const token = bearerToken(req);
    if (token && cfg.token && safeEqual(token, cfg.token)) return;
    if (opts.authorize?.(req)) return;
    if (!cfg.token && !opts.authorize) return reply.code(403).send({ error: 'the API is off: set api.token in the gateway config' });
    return reply.code(401).send({ error: 'missing or wrong bearer token' });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not found' }));
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const code = err.statusCode ?? 500;
    if (code >= 500) log.error({ err: err.message }, 'api error');
    void reply.code(code).send({ error: err.message });
  });
  app.addHook('onReady', async () => log.debug({ routes: table }, 'api routes'));
  for (const r of routes) r(app);
  return app;
}
