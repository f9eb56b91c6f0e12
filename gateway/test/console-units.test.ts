import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../src/config/load.js';
import { redactConfigText, restoreRedacted } from '../src/util/redact.js';
import { ConfigRefused, placeholderEnv, writeConfigSafely } from '../src/config/safe-write.js';
import { SourceError, YamlSource } from '../src/util/yaml-source.js';
import { readCookie, sessionCookie } from '../src/local/console/cookies.js';
import { LoginBackoff } from '../src/util/login-backoff.js';
import { SessionStore } from '../src/local/console/sessions.js';
import { setCameraZones, zoneInputProblems } from '../src/local/console/zone-edit.js';
import { toSeries } from '../src/local/console/web/chart.js';
import { I18n, initialLang } from '../src/local/console/web/i18n.js';
import { polygonProblems, type Pt } from '../src/model/zone-shape.js';
import { repoRoot } from './helpers/shared.js';

const codes = (poly: Pt[]) => polygonProblems(poly).map((p) => p.code);

describe('zone shape rules (shared by the editor and the config)', () => {
  test('a square, a concave L and a triangle are fine, in either winding', () => {
    assert.deepEqual(codes([[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]), []);
    assert.deepEqual(codes([[0.1, 0.9], [0.9, 0.9], [0.9, 0.1], [0.1, 0.1]]), []);
    assert.deepEqual(codes([[0, 0], [0.6, 0], [0.6, 0.3], [0.3, 0.3], [0.3, 0.8], [0, 0.8]]), []);
    assert.deepEqual(codes([[0, 0], [1, 0], [0, 1]]), [], 'corners on the frame edge are in the frame');
  });
  test('a bow-tie crosses itself; the problem names the crossing edges', () => {
    const p = polygonProblems([[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]);
    assert.equal(p.length, 1);
    assert.equal(p[0]!.code, 'self-intersects');
    assert.deepEqual(p[0]!.points, [0, 2]);
    assert.match(p[0]!.message, /crosses itself: edge 1–2 meets edge 3–4/);
  });
  test('a corner touching another edge, and a spike folding back, count as touching itself', () => {
    assert.deepEqual(codes([[0, 0], [0.8, 0], [0.8, 0.8], [0.4, 0], [0, 0.8]]), ['self-intersects'], 'corner 4 sits on edge 1');
    assert.deepEqual(codes([[0.1, 0.1], [0.5, 0.1], [0.3, 0.1], [0.3, 0.6]]), ['self-intersects'], 'edge 2 folds back over edge 1');
  });
  test('out of the frame, too few corners, repeated corners, no area', () => {
    const out = polygonProblems([[0.1, 0.1], [1.04, 0.1], [0.5, 0.9]]);
    assert.deepEqual(out.map((p) => [p.code, p.points]), [['out-of-frame', [1]]]);
    assert.match(out[0]!.message, /corner 2 \(1\.04, 0\.1\) is outside the picture/);
    assert.deepEqual(codes([[NaN, 0.1], [0.2, 0.2], [0.3, 0.1]]), ['out-of-frame']);
    assert.deepEqual(codes([[0.1, 0.1], [0.2, 0.2]]), ['too-few-points']);
    assert.deepEqual(codes([[0.1, 0.1], [0.1, 0.1], [0.5, 0.5], [0.1, 0.5]]), ['duplicate-point']);
    assert.deepEqual(codes([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]), ['self-intersects'], 'collinear corners fold back over each other');
    assert.deepEqual(codes(Array.from({ length: 101 }, (_, i) => [0.5 + 0.4 * Math.cos((2 * Math.PI * i) / 101), 0.5 + 0.4 * Math.sin((2 * Math.PI * i) / 101)] as Pt)), ['too-many-points']);
  });

  test('the gateway config refuses a self-crossing zone with its line; a good one loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-zone-cfg-'));
    const file = join(dir, 'gw.yaml');
    const cfg = (poly: string) => `gateway: { id: gw-z, gridId: "31011500301201", location: { lat: 31.2, lon: 121.5 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { enabled: false }
uplink: { url: "mqtt://127.0.0.1:1" }
cameras:
  - id: cam-1
    enabled: false
    source: { kind: file, path: ${file} }
    zones:
      - id: kerb
        polygon: ${poly}
        rules: [no-parking]
`;
    writeFileSync(file, cfg('[[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]'));
    assert.throws(
      () => loadConfig(file, {}),
      (e: unknown) => e instanceof SourceError && e.problems.some((p) => p.path === 'cameras[0].zones[0].polygon' && p.line === 11 && /crosses itself/.test(p.message)),
    );
    writeFileSync(file, cfg('[[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]'));
    assert.equal(loadConfig(file, {}).config.cameras[0]!.zones[0]!.id, 'kerb');
  });
});

describe('zone edits from the console', () => {
  test('what the editor sends is checked: ids, rules, shapes (with the shape codes the page translates)', () => {
    const r = zoneInputProblems([
      { id: 'ok', polygon: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]], rules: ['no-parking'] },
      { id: 'ok', polygon: [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]], rules: [] },
      { id: 'bad id!', polygon: [[0.1, 0.1], [1.5, 0.1], [0.5, 0.5]], rules: ['Not A Rule'] },
    ]);
    assert.equal(r.zones, undefined);
    assert.deepEqual(
      r.problems.map((p) => [p.zone, p.code]),
      [
        [1, 'duplicate-id'],
        [1, 'no-rules'],
        [1, 'self-intersects'],
        [2, 'bad-id'],
        [2, 'no-rules'],
        [2, 'out-of-frame'],
      ],
    );
    assert.deepEqual(zoneInputProblems('nope').problems[0]!.code, 'bad-input');
    assert.equal(zoneInputProblems([{ id: 'a', polygon: [[0, 0], [1, 0], [1, 1]], rules: ['no-vending'], gridId: '31011500301201' }]).zones?.[0]?.gridId, '31011500301201');
  });

  const CONFIG = `# the site's config: this comment must survive
gateway: { id: gw-z }
cameras:
  - id: cam-a # first camera
    source: { kind: file, path: a.mp4 }
    zones:
      # old zones, replaced by the editor
      - id: old
        polygon: [[0, 0], [1, 0], [1, 1]]
        rules: [no-parking]
  - id: cam-b
    source: { kind: file, path: b.mp4 } # second camera, untouched
`;

  test('zones replace one camera’s zones and keep the rest of the file', () => {
    const next = setCameraZones(CONFIG, 'cam-a', [
      { id: 'kerb', name: '路边', polygon: [[0.123456, 0.5], [0.9, 0.5], [0.9, 0.99999]], rules: ['no-parking', 'no-vending'], gridId: '31011500301205' },
    ]);
    assert.match(next, /^# the site's config: this comment must survive/);
    assert.match(next, /- id: cam-a # first camera/);
    assert.match(next, /path: b\.mp4 \} # second camera, untouched/);
    assert.match(next, /polygon: \[ \[ 0\.1235, 0\.5 \], \[ 0\.9, 0\.5 \], \[ 0\.9, 1 \] \]/);
    assert.match(next, /gridId: "31011500301205"/);
    const doc = parse(next) as { cameras: Array<{ id: string; zones?: unknown[] }> };
    assert.deepEqual(doc.cameras[0]!.zones, [{ id: 'kerb', name: '路边', polygon: [[0.1235, 0.5], [0.9, 0.5], [0.9, 1]], rules: ['no-parking', 'no-vending'], gridId: '31011500301205' }]);
    assert.equal(doc.cameras[1]!.zones, undefined);
    const none = parse(setCameraZones(CONFIG, 'cam-a', [])) as { cameras: Array<{ zones?: unknown }> };
    assert.equal(none.cameras[0]!.zones, undefined, 'no zones: the key goes');
    assert.throws(() => setCameraZones(CONFIG, 'cam-x', []), /camera "cam-x" is not in the config file/);
  });
});

describe('config written safely', () => {
  const base = (port: string) => `# keep me
gateway: { id: gw-s, gridId: "31011500301201", location: { lat: 31.2, lon: 121.5 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { enabled: false }
uplink: { url: "mqtt://127.0.0.1:1", password: "\${GG_SAFE_PW}" }
api:
  port: ${port}
  token: "\${GG_SAFE_TOKEN}"
`;

  test('a config that would not validate is refused: the file is byte for byte the same, no temp file left', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-safe-'));
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, base('18080'));
    chmodSync(file, 0o640);
    const before = readFileSync(file);
    assert.throws(
      () => writeConfigSafely(file, base('"not-a-port"'), { env: { GG_SAFE_PW: 'x', GG_SAFE_TOKEN: 'y' } }),
      (e: unknown) => e instanceof ConfigRefused && e.problems.some((p) => p.file === file && p.path === 'api.port' && p.line === 7),
    );
    assert.deepEqual(readFileSync(file), before);
    assert.deepEqual(readdirSync(dir), ['gw.yaml']);
    writeConfigSafely(file, base('18081'), { env: { GG_SAFE_PW: 'x', GG_SAFE_TOKEN: 'y' } });
    assert.match(readFileSync(file, 'utf8'), /port: 18081/);
    assert.equal(statSync(file).mode & 0o777, 0o640, 'the file keeps its permissions');
    assert.deepEqual(readdirSync(dir), ['gw.yaml']);
  });

  test('placeholders stand in for unset secrets only; an unset non-secret is still a problem', () => {
    const { env, unset } = placeholderEnv(base('${GG_SAFE_PORT}'), {});
    assert.deepEqual(unset.sort(), ['GG_SAFE_PW', 'GG_SAFE_TOKEN']);
    assert.equal(env.GG_SAFE_PORT, undefined);
    const dir = mkdtempSync(join(tmpdir(), 'gg-safe-'));
    const file = join(dir, 'gw.yaml');
    assert.deepEqual(writeConfigSafely(file, base('18080'), { env: {}, placeholders: true }).unset.sort(), ['GG_SAFE_PW', 'GG_SAFE_TOKEN']);
    assert.throws(() => writeConfigSafely(file, base('${GG_SAFE_PORT}'), { env: {}, placeholders: true }), /environment variable GG_SAFE_PORT is not set/);
  });
});

describe('config redaction (GET /api/v1/config, and saves that still say <redacted>)', () => {
  const text = `# note
uplink: { url: "mqtts://gw:p4ss@central:8883", password: "\${CENTRAL_PW}" }
lns:
  - id: ttn
    kind: ttn-v3
    url: mqtts://app:\${LNS_PW}@eu1.cloud.thethings.network:8883
    password: literal-lns-pw # keep this comment
devices:
  - id: d1
    credentials: { passwordHash: 'scrypt$a' }
  - id: d2
    credentials:
      passwordHash: |
        scrypt$b
    name: pump
`;

  test('every secret value reads <redacted>; references, comments and the rest stay as they are', () => {
    const r = redactConfigText(text);
    for (const s of ['p4ss', 'literal-lns-pw', 'scrypt$']) assert.ok(!r.includes(s), s);
    assert.equal(r.match(/<redacted>/g)?.length, 4);
    assert.match(r, /password: "\$\{CENTRAL_PW\}"/);
    assert.match(r, /url: mqtts:\/\/app:\$\{LNS_PW\}@eu1/, 'a URL whose password is a reference is shown');
    assert.match(r, /password: <redacted> # keep this comment/);
    assert.match(r, /passwordHash: <redacted>\n    name: pump/, 'a block scalar keeps its line break');
    assert.ok(!redactConfigText(`${text}  : : [\n`).includes('scrypt$'), 'a file that does not parse is redacted too');
    assert.ok(!redactConfigText('api: { token: abc-secret, port: 1 }\n  : : [\n').includes('abc-secret'));
  });

  test('a save puts the secrets back by path (list items by id, so a reorder is fine); a <redacted> with nothing to keep is a problem', () => {
    const r = redactConfigText(text);
    assert.deepEqual(restoreRedacted(r, text).problems, []);
    assert.equal(restoreRedacted(r, text).text.replace('"scrypt$b\\n"', '|\n        scrypt$b'), text, 'byte for byte, but the block scalar, which comes back as one quoted line');
    const swapped = r.replace(/ {2}- id: d1\n {4}credentials: \{ passwordHash: <redacted> \}\n/, '').replace('    name: pump\n', "    name: pump\n  - id: d1\n    credentials: { passwordHash: <redacted> }\n");
    assert.match(restoreRedacted(swapped, text).text, /- id: d1\n {4}credentials: \{ passwordHash: 'scrypt\$a' \}\n$/);
    const added = restoreRedacted(`${r}  - id: d3\n    credentials: { passwordHash: <redacted> }\n`, text);
    assert.deepEqual(added.problems.map((p) => [p.line, p.path]), [[16, 'devices[id=d3].credentials.passwordHash']]);
    assert.equal(restoreRedacted('a: 1\n', text).text, 'a: 1\n');
  });
});

describe('environment secrets stay in secret fields', () => {
  test('a variable used by a secret field, or named like a secret, is refused elsewhere; a URL password may use one', () => {
    const src = new YamlSource(
      'gw.yaml',
      `uplink: { url: "mqtts://gw:\${CENTRAL_PW}@central:8883", username: "\${CENTRAL_USER}", password: "\${CENTRAL_PW}" }
gateway: { id: gw-1, name: "\${CENTRAL_PW}" }
devices:
  - { id: d1, name: "site \${LAB_API_TOKEN}", site: "\${SITE}" }
`,
    );
    const problems = src.substituteEnv({ CENTRAL_PW: 'pw', CENTRAL_USER: 'gw', LAB_API_TOKEN: 'tok', SITE: 'north' });
    assert.deepEqual(problems.map((p) => [p.line, p.path]), [[2, 'gateway.name'], [4, 'devices[0].name']]);
    assert.match(problems[0]!.message, /environment variable CENTRAL_PW holds a secret: use it only in a password, token or secret field/);
    const js = src.toJS() as { uplink: Record<string, string>; gateway: { name: string }; devices: Array<Record<string, string>> };
    assert.deepEqual([js.uplink.url, js.uplink.username, js.uplink.password], ['mqtts://gw:pw@central:8883', 'gw', 'pw']);
    assert.equal(js.gateway.name, '', 'never the secret');
    assert.equal(js.devices[0]!.site, 'north');
  });
});

describe('console login pieces', () => {
  test('sessions end after their lifetime, or when idle; an ended one reads as expired, an unknown one as none', () => {
    let now = 1_000_000;
    const s = new SessionStore(() => now);
    const limits = { ttlMs: 10_000, idleMs: 4_000 };
    const a = s.create();
    now += 3_000;
    assert.equal(s.get(a.id, limits).ok, true);
    now += 3_000; // 3 s since the last use: still alive, and used again
    assert.equal(s.get(a.id, limits).ok, true);
    now += 3_500; // 9.5 s old: under the lifetime
    assert.equal(s.get(a.id, limits).ok, true);
    now += 1_000; // 10.5 s old: over the lifetime although it was used a second ago
    assert.deepEqual(s.get(a.id, limits), { ok: false, reason: 'expired' });
    const b = s.create();
    now += 4_001;
    assert.deepEqual(s.get(b.id, limits), { ok: false, reason: 'expired' }, 'idle too long');
    assert.deepEqual(s.get('made-up', limits), { ok: false, reason: 'none' });
    assert.deepEqual(s.get(undefined, limits), { ok: false, reason: 'none' });
    const c = s.create();
    s.end(c.id);
    assert.deepEqual(s.get(c.id, limits), { ok: false, reason: 'expired' });
    assert.notEqual(a.csrf, b.csrf);
  });

  test('the login limiter: free tries, then a wait that doubles up to a cap, per address and user; forgotten after the window', () => {
    let now = 0;
    const l = new LoginBackoff(() => now);
    const lim = { maxFailures: 3, delayMs: 1000, maxDelayMs: 8000, windowMs: 60_000 };
    const me = LoginBackoff.key('1.2.3.4', 'admin');
    assert.equal(l.retryAfterS(me, lim), 0);
    assert.deepEqual(l.fail(me, lim), { remaining: 2, retryAfterS: 0 });
    assert.deepEqual(l.fail(me, lim), { remaining: 1, retryAfterS: 0 });
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const f = l.fail(me, lim);
      assert.equal(f.remaining, 0);
      waits.push(f.retryAfterS);
      assert.equal(l.retryAfterS(me, lim), f.retryAfterS, 'no try before the wait is over');
      now += f.retryAfterS * 1000;
      assert.equal(l.retryAfterS(me, lim), 0, 'one try once it is over');
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 8, 8], 'doubles, capped at maxDelayMs');
    assert.equal(l.retryAfterS(LoginBackoff.key('5.6.7.8', 'admin'), lim), 0, 'another address is not affected');
    assert.equal(l.retryAfterS(LoginBackoff.key('1.2.3.4', 'other'), lim), 0, 'nor another user from the same address');
    now += 60_000;
    assert.deepEqual(l.fail(me, lim), { remaining: 2, retryAfterS: 0 }, 'a window without wrong passwords forgets the run');
    l.succeed(me);
    assert.equal(l.size, 0);
  });

  test('the login limiter lets one password check run per key, and forgets the oldest keys past 10,000', () => {
    const l = new LoginBackoff(() => 0);
    const lim = { maxFailures: 1, delayMs: 1000, maxDelayMs: 1000, windowMs: 60_000 };
    assert.equal(l.begin('a admin'), true);
    assert.equal(l.begin('a admin'), false, 'a parallel guess waits for the first to be counted');
    assert.equal(l.begin('b admin'), true);
    l.done('a admin');
    assert.equal(l.begin('a admin'), true);
    for (let i = 0; i < 10_050; i++) l.fail(`10.0.${i} admin`, lim);
    assert.equal(l.size, 10_000);
    assert.equal(l.retryAfterS('10.0.10049 admin', lim), 1, 'the newest run is kept');
    assert.equal(l.retryAfterS('10.0.0 admin', lim), 0, 'the oldest went');
  });

  test('session cookie: HttpOnly, SameSite=Strict, Secure with TLS; read back from a Cookie header', () => {
    assert.equal(sessionCookie('gg_session', 'abc', { secure: false }), 'gg_session=abc; Path=/; HttpOnly; SameSite=Strict');
    assert.equal(sessionCookie('gg_session', '', { secure: true, maxAgeS: 0 }), 'gg_session=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0');
    assert.equal(readCookie('a=1; gg_session=xyz%3D; b=2', 'gg_session'), 'xyz=');
    assert.equal(readCookie('a=1', 'gg_session'), undefined);
    assert.equal(readCookie(undefined, 'gg_session'), undefined);
  });
});

describe('console front-end helpers', () => {
  test('language: the stored choice, else Chinese for any zh browser language, else English; parameters filled', () => {
    assert.equal(initialLang(null, ['zh-CN', 'en']), 'zh');
    assert.equal(initialLang(null, ['en-GB', 'zh-TW']), 'zh');
    assert.equal(initialLang(null, ['de']), 'en');
    assert.equal(initialLang('en', ['zh-CN']), 'en');
    assert.equal(new I18n('zh').t('login.rateLimited', { s: 42 }), '密码错误次数过多，此地址的登录已暂停：请 42 秒后再试。');
    assert.equal(new I18n('en').t('zone.p.out-of-frame', { zone: 'kerb', point: 2 }), 'Zone kerb: corner 2 leaves the picture. Move it inside the frame.');
  });

  test('history answers become chart series (points as {t, v} with ISO times, or [ms, v] pairs)', () => {
    const s = toSeries({
      deviceId: 'd',
      metrics: {
        pressure: { unit: 'Pa', points: [{ t: '2026-01-01T00:01:00Z', v: 2 }, { t: '2026-01-01T00:00:00Z', v: 1, min: 1, max: 1, n: 1 }] },
        cap_open: [[1767225600000, true], [1767225660000, 'x']],
      },
    });
    assert.deepEqual(s, [
      { metric: 'pressure', unit: 'Pa', points: [{ t: Date.parse('2026-01-01T00:00:00Z'), v: 1 }, { t: Date.parse('2026-01-01T00:01:00Z'), v: 2 }] },
      { metric: 'cap_open', points: [{ t: 1767225600000, v: 1 }] },
    ]);
    assert.deepEqual(toSeries({ error: 'x' }), []);
  });
});
