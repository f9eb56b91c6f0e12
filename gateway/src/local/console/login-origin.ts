import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Why a login did not come from the console page itself, or undefined when it may have. Any web page a crew
 * member opens can post a form (text/plain, urlencoded) to the gateway; had such posts counted as wrong
 * passwords, any page could lock the admin out. The console page sends JSON, which another site cannot send
 * without the gateway's CORS consent (it gives none), and browsers say where a request comes from (Origin,
 * Sec-Fetch-Site). Tools (curl, the CLI) send neither header and are let through.
 */
export function foreignLogin(req: FastifyRequest): { status: number; code: string; error: string } | undefined {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return { status: 415, code: 'not-json', error: 'send the login as JSON: {"password": "…"}' };
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return { status: 403, code: 'cross-site', error: 'a login from another site is refused' };
  const origin = req.headers.origin;
  if (origin !== undefined && !sameHost(origin, req.headers.host)) return { status: 403, code: 'cross-site', error: 'a login from another site is refused' };
  return undefined;
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return !!host && new URL(origin).host === host.toLowerCase();
  } catch {
    return false; // "null" (a sandboxed frame, a redirect) or garbage
  }
}

/** A route-level onRequest hook: refused before the body is read, and never counted as a wrong password. */
export async function refuseForeignLogin(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const why = foreignLogin(req);
  if (why) return reply.code(why.status).send({ code: why.code, error: why.error });
  return undefined;
}
