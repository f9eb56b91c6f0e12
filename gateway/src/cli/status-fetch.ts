import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ApiConfig } from '../config/schema.js';
import { YamlSource, formatProblem } from '../config/yaml-source.js';
import type { GatewaySnapshot } from '../runtime/snapshot.js';

/** Where a running gateway's status API is and how to authenticate to it. */
export interface StatusTarget {
  url: string;
  token?: string;
  /** The API's own certificate (PEM) when it serves HTTPS: the connection must present exactly it. */
  pinnedCert?: string;
}

/**
 * Reads the API address and token from a gateway config. Only the `api` section matters here: other
 * secrets of the file need not be set in this shell.
 */
export function statusTargetFromConfig(file: string, env: NodeJS.ProcessEnv = process.env): StatusTarget {
  let src: YamlSource;
  try {
    src = YamlSource.read(file);
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  const syntax = src.syntaxProblems();
  if (syntax.length) throw new Error(syntax.map(formatProblem).join('\n'));
  const unset = src.substituteEnv(env).filter((p) => p.path === 'api' || p.path.startsWith('api.'));
  if (unset.length) throw new Error(`${unset.map(formatProblem).join('\n')}\n(set it in this shell to the value the gateway runs with)`);
  const parsed = ApiConfig.safeParse((src.toJS() as { api?: unknown } | null)?.api ?? {});
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => formatProblem(src.problem(['api', ...(i.path as (string | number)[])], i.message))).join('\n'));
  const api = parsed.data;
  if (!api.enabled) throw new Error(`${file}: api.enabled is false: this gateway serves no status API`);
  const host = api.host === '0.0.0.0' || api.host === '::' ? '127.0.0.1' : api.host;
  const scheme = api.tls ? 'https' : 'http';
  const cert = api.tls && (isAbsolute(api.tls.cert) ? api.tls.cert : resolve(dirname(resolve(file)), api.tls.cert));
  return {
    url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${api.port}`,
    ...(api.token && { token: api.token }),
    ...(cert && { pinnedCert: readFileSync(cert, 'utf8') }),
  };
}

/** GET /api/v1/status of a running gateway. Errors say what to check. */
export function fetchStatus(t: StatusTarget, timeoutMs = 5000): Promise<GatewaySnapshot> {
  const url = new URL('/api/v1/status', t.url);
  const pinned = t.pinnedCert ? new X509Certificate(t.pinnedCert).raw : undefined;
  return new Promise((res, rej) => {
    const headers = t.token ? { authorization: `Bearer ${t.token}` } : {};
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, { headers, timeout: timeoutMs, ...(pinned && { rejectUnauthorized: false }) })
        : httpRequest(url, { headers, timeout: timeoutMs });
    if (pinned) {
      req.on('socket', (s) =>
        s.once('secureConnect', () => {
          const peer = (s as TLSSocket).getPeerCertificate();
          if (!peer.raw || !peer.raw.equals(pinned)) req.destroy(new Error(`${t.url} presented a certificate other than the one in api.tls.cert`));
        }),
      );
    }
    req.on('timeout', () => req.destroy(new Error(`no answer from ${t.url} within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') rej(new Error(`nothing answers at ${t.url}: is the gateway running with this config (api.host, api.port)?`));
      else rej(e);
    });
    req.on('response', (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => (body += d));
      r.on('end', () => {
        if (r.statusCode === 200) {
          try {
            return res(JSON.parse(body) as GatewaySnapshot);
          } catch {
            return rej(new Error(`${t.url} answered with something that is not JSON`));
          }
        }
        if (r.statusCode === 401) return rej(new Error(`${t.url} refused the token: is it the api.token the gateway runs with?`));
        if (r.statusCode === 403) return rej(new Error(`${t.url}: the API is off (the gateway has no api.token)`));
        rej(new Error(`${t.url} answered HTTP ${r.statusCode}: ${body.slice(0, 200)}`));
      });
    });
    req.end();
  });
}
