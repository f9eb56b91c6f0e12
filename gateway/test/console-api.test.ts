import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { generatePassword, hashPassword } from '../src/southbound/broker/credentials.js';
import { GatewayProcess } from './helpers/gateway-process.js';
import { freePort, waitFor } from './helpers/net.js';
import { repoRoot } from './helpers/shared.js';

// The console's HTTP side against the real gateway process: login (scrypt hash, rate limit, session cookie,
// CSRF), zones and config edits that validate before they touch the file and reload the gateway, expiry.

const pw = { admin: generatePassword(), token: generatePassword() };

describe('console API (gridgate run)', () => {
  let gw: GatewayProcess;
  let port: number;
  let file: string;
  const logs = () => gw.logs;

  before(async () => {
    port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'gg-console-api-'));
    file = join(dir, 'gw.yaml');
    writeFileSync(join(dir, 'clip.mp4'), '');
    writeFileSync(
      file,
      `# operator's note: this comment must survive every edit
gateway: { id: gw-con, gridId: "31011500301205", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
grids: { file: ${join(repoRoot, 'firmware-configs', 'grids', 'yangjing-demo.geojson')} }
broker: { enabled: false }
uplink: { url: "mqtt://127.0.0.1:${await freePort()}", keepaliveS: 5 }
api:
  port: ${port}
  token: "\${CON_API_TOKEN}"
console:
  passwordHash: "\${CON_PW_HASH}"
  login: { maxFailures: 3, windowS: 60, firstBackoffS: 30 }
cameras:
  - id: cam-gate # the hospital gate
    enabled: false
    source: { kind: file, path: ./clip.mp4 }
`,
    );
    gw = new GatewayProcess(['run', '--config', file], { CON_API_TOKEN: pw.token, CON_PW_HASH: await hashPassword(pw.admin) }).start();
    await gw.waitForLog('gateway started');
  });

  after(async () => {
    await gw?.kill('SIGKILL');
  });

  const url = (p: string) => `http://127.0.0.1:${port}${p}`;
  const bearer = { authorization: `Bearer ${pw.token}` };
  const json = (body: unknown) => ({ 'content-type': 'application/json', body: JSON.stringify(body) });
  const sha = () => createHash('sha256').update(readFileSync(file)).digest('hex');

  async function login(password = pw.admin): Promise<{ cookie: string; csrf: string; res: Response }> {
    const res = await fetch(url('/console/session'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });
    const setCookie = res.headers.get('set-cookie') ?? '';
    const body = (await res.clone().json()) as { csrf?: string };
    return { cookie: setCookie.split(';')[0]!, csrf: body.csrf ?? '', res };
  }

  test('the page and its modules are served with a strict CSP; nothing outside the asset folder', async () => {
    const page = await fetch(url('/console/'));
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'; .*frame-ancestors 'none'/);
    assert.match(await page.text(), /<script type="module" src="\/console\/assets\/app\.js">/);
    const app = await fetch(url('/console/assets/app.js'));
    assert.equal(app.status, 200);
    assert.match(app.headers.get('content-type') ?? '', /javascript/);
    assert.match(await app.text(), /from '\.\/zone-editor\.js'/);
    assert.match(await (await fetch(url('/console/assets/zone-shape.js'))).text(), /export function polygonProblems/, 'the browser gets the same shape rules the server uses');
    assert.equal((await fetch(url('/console/assets/..%2F..%2Fconsole.js'))).status, 404);
    assert.equal((await fetch(url('/console/assets/tsconfig.json'))).status, 404);
  });

  test('without the token or a login, /api is refused; the bearer token works on the console APIs too', async () => {
    assert.equal((await fetch(url('/api/v1/status'))).status, 401);
    assert.equal((await fetch(url('/api/v1/system'))).status, 401);
    const sys = (await (await fetch(url('/api/v1/system'), { headers: bearer })).json()) as { cpu: { cores: number }; memory: { totalBytes: number }; disk?: { availableBytes: number } };
    assert.ok(sys.cpu.cores >= 1 && sys.memory.totalBytes > 0 && sys.disk!.availableBytes > 0);
    const cfg = (await (await fetch(url('/api/v1/config'), { headers: bearer })).json()) as { text: string; sha256: string };
    assert.equal(cfg.sha256, sha());
    assert.match(cfg.text, /operator's note/);
  });

  test('login: a wrong password is refused, the right one gives an HttpOnly SameSite cookie; changes need the CSRF token', async () => {
    const bad = await login('not-the-password');
    assert.equal(bad.res.status, 401);
    assert.deepEqual(await bad.res.json(), { code: 'wrong-password', remaining: 2, error: 'wrong password' });
    const ok = await login();
    assert.equal(ok.res.status, 200);
    assert.match(ok.res.headers.get('set-cookie') ?? '', /^gg_session=[\w-]{40,}; Path=\/; HttpOnly; SameSite=Strict$/);
    assert.equal((await fetch(url('/api/v1/status'), { headers: { cookie: ok.cookie } })).status, 200);
    const noCsrf = await fetch(url('/api/v1/config/validate'), { method: 'POST', headers: { cookie: ok.cookie, ...json({}) }, body: JSON.stringify({ text: 'x: 1' }) });
    assert.equal(noCsrf.status, 401, 'a cross-site form cannot post with the cookie alone');
    const withCsrf = await fetch(url('/api/v1/config/validate'), { method: 'POST', headers: { cookie: ok.cookie, 'x-csrf-token': ok.csrf, 'content-type': 'application/json' }, body: JSON.stringify({ text: readFileSync(file, 'utf8') }) });
    assert.deepEqual(await withCsrf.json(), { ok: true, problems: [] });
    const session = (await (await fetch(url('/console/session'), { headers: { cookie: ok.cookie } })).json()) as { loggedIn: boolean; gatewayId: string };
    assert.equal(session.loggedIn, true);
    assert.equal(session.gatewayId, 'gw-con');
  });

  test('zones: a self-crossing or out-of-frame polygon is refused and the file stays as it was', async () => {
    const s = await login();
    const before = sha();
    const put = (zones: unknown) => fetch(url('/api/v1/cameras/cam-gate/zones'), { method: 'PUT', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' }, body: JSON.stringify({ zones }) });
    const bow = await put([{ id: 'kerb', polygon: [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]], rules: ['no-parking'] }]);
    assert.equal(bow.status, 400);
    const b = (await bow.json()) as { code: string; problems: Array<{ code: string }> };
    assert.equal(b.code, 'invalid-zones');
    assert.deepEqual(b.problems.map((p) => p.code), ['self-intersects']);
    const out = (await (await put([{ id: 'kerb', polygon: [[0.1, 0.1], [1.2, 0.1], [0.5, 0.5]], rules: ['no-parking'] }])).json()) as { problems: Array<{ code: string; message: string }> };
    assert.deepEqual(out.problems.map((p) => p.code), ['out-of-frame']);
    const rule = (await (await put([{ id: 'kerb', polygon: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]], rules: ['no-such-rule'] }])).json()) as { problems: Array<{ message: string }> };
    assert.match(rule.problems[0]!.message, /no camera profile defines the rule "no-such-rule"/);
    assert.equal((await fetch(url('/api/v1/cameras/cam-nope/zones'), { headers: bearer })).status, 404);
    assert.equal(sha(), before);
  });

  test('zones: a good zone is written into the config (comments kept), the gateway reloads it, the login survives the reload', async () => {
    const s = await login();
    const z = (await (await fetch(url('/api/v1/cameras/cam-gate/zones'), { headers: { cookie: s.cookie } })).json()) as { zones: unknown[]; rules: Array<{ id: string }>; grids: Array<{ code: string }>; cameraGrid: string; sha256: string };
    assert.deepEqual(z.zones, []);
    assert.ok(z.rules.some((r) => r.id === 'no-parking') && z.grids.length === 9, 'rules from the camera profiles, grids from the grid map');
    assert.equal(z.cameraGrid, '31011500301205');
    const reloads = logs().filter((l) => l.msg === 'config reloaded').length;
    const res = await fetch(url('/api/v1/cameras/cam-gate/zones'), {
      method: 'PUT',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ sha256: z.sha256, zones: [{ id: 'kerb', name: 'Gate kerb', polygon: [[0.1, 0.5], [0.6, 0.5], [0.6, 0.95], [0.1, 0.95]], rules: ['no-parking'], gridId: '31011500301206' }] }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^# operator's note: this comment must survive every edit/);
    assert.match(text, /- id: cam-gate # the hospital gate/);
    const cfg = parse(text) as { cameras: Array<{ zones: unknown[] }> };
    assert.deepEqual(cfg.cameras[0]!.zones, [{ id: 'kerb', name: 'Gate kerb', polygon: [[0.1, 0.5], [0.6, 0.5], [0.6, 0.95], [0.1, 0.95]], rules: ['no-parking'], gridId: '31011500301206' }]);
    await waitFor('the reload', () => logs().filter((l) => l.msg === 'config reloaded').length > reloads, 20_000);
    const after = await waitFor('the API after the reload', async () => {
      const r = await fetch(url('/api/v1/cameras/cam-gate/zones'), { headers: { cookie: s.cookie } }).catch(() => undefined);
      return r?.status === 200 && ((await r.json()) as { zones: Array<{ id: string }> });
    });
    assert.equal(after.zones[0]!.id, 'kerb', 'the same session cookie works on the reloaded gateway');
    const stale = await fetch(url('/api/v1/cameras/cam-gate/zones'), { method: 'PUT', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' }, body: JSON.stringify({ sha256: z.sha256, zones: [] }) });
    assert.equal(stale.status, 409, 'an edit based on an older file is refused');
  });

  test('config: an edit that would not validate is refused with its line; the file and the running gateway stay', async () => {
    const before = readFileSync(file, 'utf8');
    const reloads = logs().filter((l) => l.msg === 'config reloaded').length;
    const broken = before.replace(/port: \d+/, 'port: "eighty"');
    const res = await fetch(url('/api/v1/config'), { method: 'PUT', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ text: broken, sha256: sha() }) });
    assert.equal(res.status, 400);
    const b = (await res.json()) as { code: string; problems: Array<{ line: number; path: string; message: string }> };
    assert.equal(b.code, 'invalid');
    assert.deepEqual(b.problems.map((p) => [p.line, p.path]), [[8, 'api.port']]);
    assert.equal(readFileSync(file, 'utf8'), before);
    const yamlError = (await (await fetch(url('/api/v1/config'), { method: 'PUT', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ text: `${before}\n  : : [` }) })).json()) as { problems: Array<{ message: string }> };
    assert.match(yamlError.problems[0]!.message, /^YAML: /);
    assert.equal(readFileSync(file, 'utf8'), before);
    assert.equal((await fetch(url('/healthz'))).status, 200);
    assert.equal(logs().filter((l) => l.msg === 'config reloaded').length, reloads, 'nothing was reloaded');
  });

  test('sessions expire: after a config edit shortens their lifetime, a login ends by itself and says so', async () => {
    const text = readFileSync(file, 'utf8').replace('login: { maxFailures: 3, windowS: 60, firstBackoffS: 30 }', 'login: { maxFailures: 3, windowS: 60, firstBackoffS: 30 }\n  sessionTtlS: 5');
    const reloads = logs().filter((l) => l.msg === 'config reloaded').length;
    const res = await fetch(url('/api/v1/config'), { method: 'PUT', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ text, sha256: sha() }) });
    assert.equal(res.status, 200, await res.clone().text());
    await waitFor('the reload', () => logs().filter((l) => l.msg === 'config reloaded').length > reloads, 20_000);
    await waitFor('the API after the reload', async () => (await fetch(url('/healthz')).catch(() => undefined))?.status === 200);
    const s = await login();
    assert.equal(s.res.status, 200);
    const expiresAt = Date.parse(((await s.res.json()) as { expiresAt: string }).expiresAt);
    assert.ok(expiresAt - Date.now() <= 5000);
    await waitFor('the session to expire', async () => (await fetch(url('/api/v1/status'), { headers: { cookie: s.cookie } })).status === 401, 30_000, 250);
    const state = (await (await fetch(url('/console/session'), { headers: { cookie: s.cookie } })).json()) as { loggedIn: boolean; reason: string };
    assert.deepEqual([state.loggedIn, state.reason], [false, 'expired']);
  });

  test('login is rate-limited per address: after 3 wrong passwords even the right one waits; the token still works', async () => {
    // A good login cleared the earlier failure: three from now.
    assert.equal((await login('wrong-1')).res.status, 401);
    assert.equal(((await (await login('wrong-2')).res.json()) as { remaining: number }).remaining, 1);
    const third = await login('wrong-3');
    assert.equal(third.res.status, 429);
    const retry = Number(third.res.headers.get('retry-after'));
    assert.ok(retry > 0 && retry <= 60, `Retry-After ${retry}`);
    assert.equal(((await third.res.json()) as { code: string }).code, 'rate-limited');
    const right = await login();
    assert.equal(right.res.status, 429, 'paused: the right password is not even checked');
    assert.equal(right.cookie, '');
    assert.equal((await fetch(url('/api/v1/status'), { headers: bearer })).status, 200);
    assert.ok(gw.logs.some((l) => l.msg === 'console: wrong admin password' && !JSON.stringify(l).includes('wrong-3')), 'logged, without the password');
  });
});
