import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseDocument } from 'yaml';
import { loadConfig } from '../config/load.js';
import { placeholderEnv } from '../config/safe-write.js';

/** Where a gateway's HTTP API answers and the token it takes. */
export interface ApiTarget {
  url: string;
  token?: string;
}

/**
 * The API of the gateway a config file describes (a wildcard listen address is asked on loopback), with
 * its token when the environment holds it.
 */
export function apiTargetFromConfig(file: string, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  const text = readFileSync(file, 'utf8');
  const { env: withPlaceholders, unset } = placeholderEnv(text, env);
  const { config } = loadConfig(file, withPlaceholders);
  if (!config.api.enabled) throw new Error(`${file}: api.enabled is false: the gateway serves no HTTP API`);
  const host = config.api.host === '0.0.0.0' || config.api.host === '::' ? '127.0.0.1' : config.api.host;
  const url = `${config.api.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${config.api.port}`;
  const raw = parseDocument(text).getIn(['api', 'token']);
  const tokenVar = typeof raw === 'string' ? /\$\{([A-Za-z_][A-Za-z0-9_]*)/.exec(raw)?.[1] : undefined;
  const token = tokenVar && unset.includes(tokenVar) ? undefined : config.api.token;
  return { url, ...(token && { token }) };
}

/**
 * Calls the running gateway's API. Its own HTTPS certificate is not verified: the CLI talks to the gateway
 * on the same box (or the cabinet LAN), usually self-signed. Errors say which address and what to do.
 */
export function callApi<T>(t: ApiTarget, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<T> {
  const url = new URL(path, t.url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<T>((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        rejectUnauthorized: false,
        headers: { accept: 'application/json', ...(t.token && { authorization: `Bearer ${t.token}` }), ...(payload && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          if (code === 401 || code === 403) return reject(new Error(`the gateway at ${t.url} refused the request (${code}): give its API token (GRIDGATE_API_TOKEN, or the variable api.token names in the config)`));
          if (code < 200 || code >= 300) return reject(new Error(`${method} ${url.href}: ${code} ${text.slice(0, 500)}`));
          try {
            resolve((text ? JSON.parse(text) : {}) as T);
          } catch {
            reject(new Error(`${method} ${url.href}: the answer is not JSON`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new Error(`no gateway answers at ${t.url} (${e.code ?? e.message}): is \`gridgate run\` running with this config?`)));
    if (payload) req.write(payload);
    req.end();
  });
}
