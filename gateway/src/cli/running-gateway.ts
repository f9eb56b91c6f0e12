import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ApiConfig } from '../config/schema.js';
import { YamlSource, formatProblem } from '../util/yaml-source.js';

/** Where a running gateway's HTTP API answers and how to authenticate to it. */
export interface ApiTarget {
  url: string;
  token?: string;
  /** The API's own certificate (PEM) when it serves HTTPS: the connection must present exactly it. */
  pinnedCert?: string;
}

/**
 * The API of the gateway a config file describes (a wildcard listen address is asked on loopback). Only the
 * `api` section matters here: other secrets of the file need not be set in this shell.
 */
export function apiTargetFromConfig(file: string, env: NodeJS.ProcessEnv = process.env): ApiTarget {
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
  if (!api.enabled) throw new Error(`${file}: api.enabled is false: this gateway serves no HTTP API`);
  const host = api.host === '0.0.0.0' || api.host === '::' ? '127.0.0.1' : api.host;
  const cert = api.tls && (isAbsolute(api.tls.cert) ? api.tls.cert : resolve(dirname(resolve(file)), api.tls.cert));
  return {
    url: `${api.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${api.port}`,
    ...(api.token && { token: api.token }),
    ...(cert && { pinnedCert: readFileSync(cert, 'utf8') }),
  };
}

/**
 * Calls the running gateway's API. Over HTTPS with the certificate from its config, the peer must present
 * exactly that certificate (gateways are self-signed); otherwise the usual CA verification applies.
 * Errors say which address and what to check.
 */
export function callApi<T>(t: ApiTarget, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<T> {
  const url = new URL(path, t.url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const pinned = t.pinnedCert ? new X509Certificate(t.pinnedCert).raw : undefined;
  const headers = {
    accept: 'application/json',
    ...(t.token && { authorization: `Bearer ${t.token}` }),
    ...(payload && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
  };
  return new Promise<T>((res, rej) => {
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, { method, headers, timeout: timeoutMs, ...(pinned && { rejectUnauthorized: false }) })
        : httpRequest(url, { method, headers, timeout: timeoutMs });
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
      if (e.code === 'ECONNREFUSED') rej(new Error(`nothing answers at ${t.url}: is \`gridgate run\` running with this config (api.host, api.port)?`));
      else rej(e);
    });
    req.on('response', (r) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => (text += d));
      r.on('end', () => {
        const code = r.statusCode ?? 0;
        if (code === 401) return rej(new Error(`${t.url} refused the token: is it the api.token the gateway runs with?`));
        if (code === 403) return rej(new Error(`${t.url} refused the request (403): the API is off (the gateway has no api.token) or the token may not do this`));
        if (code < 200 || code >= 300) return rej(new Error(`${method} ${url.href}: HTTP ${code} ${text.slice(0, 500)}`));
        try {
          res((text ? JSON.parse(text) : {}) as T);
        } catch {
          rej(new Error(`${method} ${url.href}: the answer is not JSON`));
        }
      });
    });
    if (payload) req.write(payload);
    req.end();
  });
}
