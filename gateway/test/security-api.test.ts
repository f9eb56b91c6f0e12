import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiRouteInfo } from '../src/local/api/server.js';
import { generatePassword, hashPassword } from '../src/southbound/broker/credentials.js';
import { GatewayProcess } from './helpers/gateway-process.js';
import { freePort, waitFor } from './helpers/net.js';
import { repoRoot } from './helpers/shared.js';
import { removeTempDirs, tempDir } from './helpers/temp.js';

// The local HTTP API as an attacker on the API port sees it, against the real gateway process: no route
// answers without the token, whatever spelling of its path reaches it; no API response carries a secret;
// a YAML bomb is a 400; a login from another site neither counts nor locks the admin out.

const pw = { admin: generatePassword(), token: generatePassword(), central: `central-${generatePassword()}` };
const FLEET_SECRET = 'fleet-secret-abcdefghijklmnop';

/** Spellings of one path that a router might take for it: encoded, double-encoded, other case, extra slashes, dots, `;`. */
function variants(p: string): string[] {
  const [first = '', ...rest] = p.slice(1).split('/');
  const tail = rest.length ? `/${rest.join('/')}` : '';
  const hex = (c: string) => c.charCodeAt(0).toString(16).padStart(2, '0');
  return [
    p,
    `/%${hex(first[0]!)}${first.slice(1)}${tail}`, // /%61pi/..., /%6detrics
    `/%${hex(first[0]!).toUpperCase()}${first.slice(1)}${tail}`,
    p.replace(/[a-z]/g, (c) => `%${hex(c)}`), // every letter encoded
    `/%25${hex(first[0]!)}${first.slice(1)}${tail}`, // double-encoded: /%2561pi
    p.toUpperCase(),
    `/${first[0]!.toUpperCase()}${first.slice(1)}${tail}`, // /Api/...
    `/${p}`, // //api/v1/...
    p.replace(/\//g, '//'),
    `${p};x`,
    `${p};jsessionid=1`,
    `/x/..${p}`,
    `/x/%2e%2e${p}`,
    `/%2e%2e${p}`,
    `/.${p}`,
    `${p}/`,
    `${p}.`,
    `${p}/.`,
    `/${p.slice(1).replace(/\//g, '%2f')}`,
    `${p}%20`,
    `${p}?x=1`,
  ];
}

describe('API security (gridgate run)', () => {
  let gw: GatewayProcess;
  let port: number;
  let file: string;
  let original: string;
  let routes: ApiRouteInfo[];

  before(async () => {
    port = await freePort();
    const dir = tempDir('gg-sec-api-');
    file = join(dir, 'gw.yaml');
    writeFileSync(join(dir, 'clip.mp4'), '');
    original = `# the site's note: kept through every edit
gateway: { id: gw-sec, gridId: "31011500301205", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
log: { level: debug }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { enabled: false, deviceKeySecret: "${FLEET_SECRET}" }
uplink: { url: "mqtt://127.0.0.1:${await freePort()}", password: "\${SEC_CENTRAL_PW}", keepaliveS: 5 }
api:
  port: ${port}
  token: "\${SEC_API_TOKEN}"
console:
  passwordHash: "${await hashPassword(pw.admin)}"
  login: { maxFailures: 2, firstBackoffS: 20, maxBackoffS: 120 }
devices:
  - id: hydrant-1
    profile: generic-json-hydrant
    credentials: { passwordHash: "${await hashPassword(generatePassword())}" }
cameras:
  - id: cam-gate
    enabled: false
    source: { kind: file, path: ./clip.mp4 }
`;
    writeFileSync(file, original);
    gw = new GatewayProcess(['run', '--config', file], { SEC_API_TOKEN: pw.token, SEC_CENTRAL_PW: pw.central }).start();
    await gw.waitForLog('gateway started');
    routes = ((await gw.waitForLog('api routes')) as unknown as { routes: ApiRouteInfo[] }).routes;
  });

  after(async () => {
    await gw?.kill('SIGKILL');
    removeTempDirs();
  });

  const bearer = { authorization: `Bearer ${pw.token}` };
  const sha = () => createHash('sha256').update(readFileSync(file)).digest('hex');
  const reloads = () => gw.logs.filter((l) => l.msg === 'config reloaded').length;

  /** One request with the path exactly as given (fetch would resolve `..` and `%2e%2e` before sending). */
  function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers: { ...headers, ...(body !== undefined && { 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      });
      req.on('error', reject);
      req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
      req.end(body);
    });
  }
  const json = (method: string, path: string, body: unknown, headers: Record<string, string> = bearer) => raw(method, path, { ...headers, 'content-type': 'application/json' }, JSON.stringify(body));
  const noSecrets = (text: string, what: string) => {
    for (const s of ['scrypt$', FLEET_SECRET, pw.central, pw.token]) assert.ok(!text.includes(s), `${what} carries a secret (${s.slice(0, 7)}…)`);
  };

  test('the gateway lists its routes; only the health check, the console page and the login are public', () => {
    const has = (method: string, url: string) => routes.some((r) => r.method === method && r.url === url);
    for (const [m, u] of [['GET', '/api/v1/status'], ['PUT', '/api/v1/config'], ['POST', '/api/v1/config/reload'], ['POST', '/api/v1/alarms/:id/ack'], ['GET', '/api/v1/devices/:id/metrics'], ['GET', '/api/v1/reports/:id'], ['GET', '/api/v1/evidence/*'], ['PUT', '/api/v1/cameras/:id/zones'], ['GET', '/metrics']] as const) {
      assert.ok(has(m, u), `${m} ${u} is in the route list`);
    }
    const open = routes.filter((r) => r.access === 'public');
    assert.deepEqual([...new Set(open.map((r) => r.url))].sort(), ['/console', '/console/', '/console/assets/:name', '/console/assets/console.css', '/console/session', '/healthz']);
    assert.deepEqual(routes.filter((r) => r.url === '/metrics').map((r) => r.access), ['metrics', 'metrics'], 'GET and HEAD');
  });

  test('no guarded route answers without the token, whatever spelling of its path (401/403/404, no data)', async () => {
    const guarded = routes.filter((r) => r.access !== 'public');
    assert.ok(guarded.length >= 20, `${guarded.length} guarded routes`);
    let sent = 0;
    for (const r of guarded) {
      const path = r.url.replace(/:[A-Za-z_]+/g, 'x').replace(/\*$/, 'x');
      for (const v of variants(path)) {
        const body = r.method === 'GET' || r.method === 'HEAD' ? undefined : '{}';
        const res = await raw(r.method, v, body === undefined ? {} : { 'content-type': 'application/json' }, body);
        sent++;
        assert.ok([401, 403, 404].includes(res.status), `${r.method} ${v} (route ${r.url}) answered ${res.status}: ${res.body.slice(0, 200)}`);
        if (res.body) assert.deepEqual(Object.keys(JSON.parse(res.body) as object), ['error'], `${r.method} ${v}: ${res.body.slice(0, 200)}`);
        noSecrets(res.body, `${r.method} ${v}`);
      }
    }
    assert.ok(sent >= guarded.length * 20);
    // The probes reach the routes: with the token, the router takes the encoded spelling for the route.
    const ok = await raw('GET', '/%61pi/v1/status', bearer);
    assert.equal(ok.status, 200);
    assert.equal((JSON.parse(ok.body) as { gatewayId: string }).gatewayId, 'gw-sec');
    assert.equal((await raw('GET', '/healthz')).status, 200);
    assert.deepEqual(await raw('GET', '/no/such/route').then((x) => [x.status, x.body]), [404, '{"error":"not found"}'], 'a 404 does not echo the path');
  });

  test('config, status and devices carry no secrets: hashes, the fleet secret and passwords read <redacted>', async () => {
    const res = await raw('GET', '/api/v1/config', bearer);
    assert.equal(res.status, 200);
    const cfg = JSON.parse(res.body) as { text: string; sha256: string };
    noSecrets(cfg.text, 'GET /api/v1/config');
    assert.equal(cfg.text.match(/<redacted>/g)?.length, 3, cfg.text);
    assert.match(cfg.text, /^# the site's note/);
    assert.match(cfg.text, /token: "\$\{SEC_API_TOKEN\}"/, 'a ${VAR} reference names a secret without holding it: shown');
    assert.equal(cfg.sha256, sha());
    for (const p of ['/api/v1/status', '/api/v1/devices', '/api/v1/system', '/api/v1/cameras', '/api/v1/reports', '/metrics']) {
      const r = await raw('GET', p, bearer);
      assert.equal(r.status, 200, p);
      noSecrets(r.body, p);
    }
  });

  test('a save that still says <redacted> keeps the secrets the file has; a <redacted> with nothing to keep is refused', async () => {
    const cfg = JSON.parse((await raw('GET', '/api/v1/config', bearer)).body) as { text: string; sha256: string };
    const validate = await json('POST', '/api/v1/config/validate', { text: cfg.text });
    assert.deepEqual(JSON.parse(validate.body), { ok: true, problems: [] });
    const before = reloads();
    const put = await json('PUT', '/api/v1/config', { text: cfg.text, sha256: cfg.sha256 });
    assert.equal(put.status, 200, put.body);
    assert.equal(readFileSync(file, 'utf8'), original, 'the file is byte for byte what it was: no placeholder written');
    await waitFor('the reload', () => reloads() > before, 20_000);

    const newDevice = cfg.text.replace('devices:\n', 'devices:\n  - id: hydrant-2\n    profile: generic-json-hydrant\n    credentials: { passwordHash: <redacted> }\n');
    const refused = await json('PUT', '/api/v1/config', { text: newDevice, sha256: sha() });
    assert.equal(refused.status, 400);
    const b = JSON.parse(refused.body) as { problems: Array<{ line: number; path: string; message: string }> };
    assert.deepEqual(b.problems.map((p) => [p.line, p.path]), [[16, 'devices[id=hydrant-2].credentials.passwordHash']]);
    assert.match(b.problems[0]!.message, /has no secret here to keep/);
    assert.equal(readFileSync(file, 'utf8'), original);
  });

  test('an environment secret cannot be written into a field the API shows; the encoded path does not read it either', async () => {
    const cfg = JSON.parse((await raw('GET', '/api/v1/config', bearer)).body) as { text: string };
    for (const name of ['SEC_CENTRAL_PW', 'SOME_SECRET_TOKEN']) {
      const text = cfg.text.replace('  - id: hydrant-1\n', `  - id: hydrant-1\n    name: "\${${name}}"\n`);
      const res = await json('PUT', '/api/v1/config', { text, sha256: sha() });
      assert.equal(res.status, 400, res.body);
      const p = (JSON.parse(res.body) as { problems: Array<{ path: string; message: string }> }).problems;
      assert.deepEqual(p.map((x) => x.path), ['devices[0].name']);
      assert.match(p[0]!.message, new RegExp(`environment variable ${name} holds a secret`));
    }
    assert.equal(readFileSync(file, 'utf8'), original);
    const leak = await raw('GET', '/%61pi/v1/devices');
    assert.equal(leak.status, 401);
    noSecrets(leak.body, 'GET /%61pi/v1/devices');
  });

  test('a YAML alias bomb is a 400 that says why, on save and on validate; the file stays', async () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) lines.push(`${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(9).fill(`*${'abcdefghij'[i - 1]}`).join(',')}]`);
    const bomb = `${original}${lines.join('\n')}\n`;
    const put = await json('PUT', '/api/v1/config', { text: bomb, sha256: sha() });
    assert.equal(put.status, 400, put.body);
    const p = (JSON.parse(put.body) as { problems: Array<{ line: number; message: string }> }).problems;
    assert.equal(p.length, 1);
    assert.match(p[0]!.message, /the YAML expands too many aliases \(limit 100\)/);
    assert.equal(p[0]!.line, original.split('\n').length + 1, 'the line of the first alias');
    const v = JSON.parse((await json('POST', '/api/v1/config/validate', { text: bomb })).body) as { ok: boolean; problems: Array<{ message: string }> };
    assert.equal(v.ok, false);
    assert.match(v.problems[0]!.message, /too many aliases/);
    assert.equal(readFileSync(file, 'utf8'), original);
    assert.ok(!gw.logs.some((l) => l.msg === 'api error'), 'no 500');
  });

  test('logins from another site are refused before they count: the admin is not locked out; own wrong passwords wait 20 s', async () => {
    const login = (password: string, headers: Record<string, string> = {}) => json('POST', '/console/session', { password }, headers);
    const warned = () => gw.logs.filter((l) => l.msg === 'console: wrong admin password').length;
    const w0 = warned();
    for (let i = 0; i < 5; i++) {
      const form = await raw('POST', '/console/session', { 'content-type': 'text/plain', origin: 'http://evil.example' }, `{"password":"guess-${i}"}`);
      assert.equal(form.status, 415, form.body);
      const urlencoded = await raw('POST', '/console/session', { 'content-type': 'application/x-www-form-urlencoded' }, `password=guess-${i}`);
      assert.equal(urlencoded.status, 415, urlencoded.body);
      assert.equal((await login(`guess-${i}`, { origin: 'http://evil.example' })).status, 403);
      assert.equal((await login(`guess-${i}`, { origin: 'null' })).status, 403);
      assert.equal((await login(`guess-${i}`, { 'sec-fetch-site': 'cross-site' })).status, 403);
      assert.equal((await login(`guess-${i}`, { 'sec-fetch-site': 'same-site' })).status, 403, 'another port of the same host is another site');
    }
    const right = await login(pw.admin, { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' });
    assert.equal(right.status, 200, `30 refused logins and 2 free failures: had they counted, this would wait (${right.body})`);

    const first = await login('wrong-1');
    assert.deepEqual(JSON.parse(first.body), { code: 'wrong-password', remaining: 1, error: 'wrong password' });
    const second = await login('wrong-2');
    assert.equal(second.status, 429);
    assert.equal(second.headers['retry-after'], '20');
    assert.equal((await login(pw.admin)).status, 429, 'the right password waits too: it is not even checked');
    // Log lines come in order: once the two wrong passwords are logged, any refused login would be too.
    await waitFor('the wrong-password log lines', () => warned() >= w0 + 2);
    assert.equal(warned(), w0 + 2, 'only the two same-site wrong passwords were checked and counted');
    assert.equal((await raw('GET', '/api/v1/status', bearer)).status, 200, 'the token still works');
  });
});
