import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiServer } from '../src/local/api/server.js';
import { loadConfig } from '../src/config/load.js';
import { configWriter } from '../src/config/safe-write.js';
import { WebConsole } from '../src/local/console/console.js';
import { hashPassword } from '../src/southbound/broker/credentials.js';
import { createLogger } from '../src/util/log.js';
import { makeTestPki } from './helpers/certs.js';
import { repoRoot } from './helpers/shared.js';

function https(port: number, ca: Buffer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path, method, ca, headers: { ...headers, ...(payload && { 'content-type': 'application/json' }) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

// api.tls: the console is served over HTTPS (certificate verified here against its CA) and its session
// cookie is marked Secure, so a browser never sends it over plain HTTP.
test('console over HTTPS: verified certificate, Secure session cookie', async () => {
  const pki = makeTestPki();
  const dir = mkdtempSync(join(tmpdir(), 'gg-console-tls-'));
  const file = join(dir, 'gw.yaml');
  writeFileSync(
    file,
    `gateway: { id: gw-tls, gridId: "31011500301205", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { enabled: false }
uplink: { url: "mqtt://127.0.0.1:1" }
api: { port: 1, tls: { cert: ${pki.cert}, key: ${pki.key} } }
console: { passwordHash: "${await hashPassword('correct horse battery')}" }
`,
  );
  const loaded = loadConfig(file, {});
  const log = createLogger('silent');
  const web = new WebConsole({ file, writer: configWriter(file, {}), log, gateway: () => ({ loaded, cameraGrid: () => undefined }), requestReload: () => ({ ok: true }) });
  const app = createApiServer(loaded.config.api, log, [web.routes], { authorize: web.authorize });
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const port = (app.server.address() as { port: number }).port;
    const ca = readFileSync(pki.ca);
    const page = await https(port, ca, 'GET', '/console/');
    assert.equal(page.status, 200);
    const login = await https(port, ca, 'POST', '/console/session', { password: 'correct horse battery' });
    assert.equal(login.status, 200);
    const cookie = String(login.headers['set-cookie']);
    assert.match(cookie, /; HttpOnly; SameSite=Strict; Secure$/);
    const sys = await https(port, ca, 'GET', '/api/v1/system', undefined, { cookie: cookie.split(';')[0]! });
    assert.equal(sys.status, 200);
    await assert.rejects(https(port, Buffer.from(readFileSync(makeTestPki().ca)), 'GET', '/console/'), /self-signed|unable to verify|certificate/i);
  } finally {
    await app.close();
  }
});
