import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { parse } from 'yaml';
import { generatePassword, hashPassword } from '../src/southbound/broker/credentials.js';
import { testVideo } from './helpers/cameras.js';
import { GatewayProcess, runCli } from './helpers/gateway-process.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { freePort, waitFor } from './helpers/net.js';
import { repoRoot } from './helpers/shared.js';

// The console in a real browser (Debian's chromium driven by playwright-core, no browser download) against
// the real gateway process: log in, watch a sensor's values change, acknowledge its alarm, draw a zone on the
// camera's snapshot and find it in the config; and the refusals (a crossing or out-of-frame zone, a config
// that does not validate, a wrong password, an expired session) shown on the page. Screenshots are kept in
// test-artifacts/console/.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(repoRoot, 'test-artifacts', 'console');
const pw = { admin: generatePassword(), token: generatePassword(), central: generatePassword() };

describe('web console in Chromium', () => {
  let central: Mosquitto;
  let gw: GatewayProcess;
  let small: GatewayProcess;
  let ctx: BrowserContext;
  let page: Page;
  let apiPort: number;
  let smallPort: number;
  let brokerPort: number;
  let file: string;
  let devicePassword: string;
  let device: mqtt.MqttClient;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const video = testVideo();
    central = await startMosquitto({ users: { 'gw-web': pw.central } });
    [apiPort, smallPort, brokerPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const dir = mkdtempSync(join(tmpdir(), 'gg-console-web-'));
    file = join(dir, 'gw.yaml');
    writeFileSync(
      file,
      `# Test cabinet at the hospital gate. This comment stays through every console edit.
gateway: { id: gw-web, gridId: "31011500301205", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
grids: { file: ${join(repoRoot, 'firmware-configs', 'grids', 'yangjing-demo.geojson')} }
broker: { host: 127.0.0.1, port: ${brokerPort} }
uplink: { url: "${central.url}", username: gw-web, password: "\${WEB_CENTRAL_PW}", keepaliveS: 5 }
api:
  port: ${apiPort}
  token: "\${WEB_API_TOKEN}"
cameras:
  - id: cam-gate
    name: Hospital gate
    source: { kind: file, path: ${video} }
devices: []
`,
    );
    // The engineer's way: the sensor and the admin password through the CLI.
    const added = await runCli(['devices', 'add', '--config', file, '--profile', 'generic-json-hydrant', '--id', 'hydrant-7', '--location', '31.2331,121.5334']);
    assert.equal(added.code, 0, added.stderr);
    devicePassword = /password {2}(\S+)/.exec(added.stdout)![1]!;
    const set = await runCli(['console', 'set-password', '--config', file, '--password-env', 'WEB_ADMIN_PW'], { WEB_ADMIN_PW: pw.admin });
    assert.equal(set.code, 0, set.stderr);
    gw = new GatewayProcess(['run', '--config', file], { WEB_CENTRAL_PW: pw.central, WEB_API_TOKEN: pw.token }).start();

    // A second, small gateway whose sessions last 5 s and which pauses logins after 3 wrong passwords.
    const smallFile = join(dir, 'small.yaml');
    writeFileSync(
      smallFile,
      `gateway: { id: gw-small, gridId: "31011500301205", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./small-state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { enabled: false }
uplink: { url: "${central.url}", username: gw-web, password: "\${WEB_CENTRAL_PW}" }
api: { port: ${smallPort} }
console:
  passwordHash: "${await hashPassword(pw.admin)}"
  sessionTtlS: 5
  login: { maxFailures: 3, windowS: 120, firstBackoffS: 30 }
`,
    );
    small = new GatewayProcess(['run', '--config', smallFile], { WEB_CENTRAL_PW: pw.central }).start();
    await Promise.all([gw.waitForLog('gateway started'), small.waitForLog('gateway started')]);
    device = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { username: 'hydrant-7', password: devicePassword, clientId: 'hydrant-7' });
    ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'gg-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      locale: 'en-US',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
    });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  });

  after(async () => {
    await ctx?.close();
    await device?.endAsync();
    await gw?.kill('SIGKILL');
    await small?.kill('SIGKILL');
    await central?.stop();
  });

  const shot = (name: string, p: Page = page) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const base = () => `http://127.0.0.1:${apiPort}/console/`;
  const sha = () => createHash('sha256').update(readFileSync(file)).digest('hex');
  const publish = (body: object) => device.publishAsync('devices/hydrant-7/up', JSON.stringify(body), { qos: 1 });

  test('log in and see the dashboard', async () => {
    await page.goto(base());
    await page.fill('#password', pw.admin);
    await page.click('#login-submit');
    await page.waitForSelector('#health');
    await page.locator('#uplink-state').filter({ hasText: /^connected$/ }).waitFor();
    assert.match((await page.textContent('main'))!, /gw-web/);
    await shot('01-dashboard');
  });

  test("a simulated sensor's values update on the devices page", async () => {
    await page.click('nav a[data-nav=devices]');
    const cell = page.locator('tr[data-device="hydrant-7"] span[data-metric="pressure"] .v');
    await publish({ pressure_mpa: 0.31, cap_open: false, battery_pct: 90 });
    await cell.filter({ hasText: '310000 Pa' }).waitFor({ timeout: 15_000 });
    await publish({ pressure_mpa: 0.42, cap_open: false, battery_pct: 90 });
    await cell.filter({ hasText: '420000 Pa' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.textContent('tr[data-device="hydrant-7"] td.state'), 'online');
    await shot('02-devices');
  });

  test('acknowledge an alarm', async () => {
    await publish({ pressure_mpa: 0.42, cap_open: true });
    const row = page.locator('#alarms tr[data-device="hydrant-7"][data-rule="cap-open"]');
    await row.locator('button.ack').click({ timeout: 15_000 });
    await row.locator('td.alarm-state', { hasText: 'acknowledged' }).waitFor({ timeout: 10_000 });
    await page.locator('.messages .msg.ok').waitFor();
    const alarms = (await (await fetch(`http://127.0.0.1:${apiPort}/api/v1/alarms`, { headers: { authorization: `Bearer ${pw.token}` } })).json()) as Array<{ rule: string; acknowledged: boolean }>;
    assert.deepEqual(alarms.filter((a) => a.rule === 'cap-open').map((a) => a.acknowledged), [true]);
    await shot('03-alarm-acknowledged');
    // The device page charts the pressures published above, from the gateway's history store.
    await page.click('#alarms a:text("hydrant-7")');
    const chart = page.locator('#history svg.chart[aria-label="pressure history"]');
    await chart.waitFor({ timeout: 10_000 });
    const ticks = await chart.locator('text.tick').allTextContents();
    assert.ok(ticks.includes('420.0k') && ticks.includes('310.0k'), `the chart spans the published pressures: ${ticks.join(' ')}`);
    await page.locator('#device-values tr[data-metric="cap_open"] td', { hasText: 'true' }).waitFor();
  });

  /** Clicks at normalized picture coordinates on the zone editor's snapshot. */
  async function clickAt(points: Array<[number, number]>): Promise<void> {
    const box = (await page.locator('.stage img.snapshot').boundingBox())!;
    for (const [x, y] of points) await page.mouse.click(box.x + x * box.width, box.y + y * box.height);
  }

  test("draw a zone on the camera's snapshot and find it in the config", async () => {
    await page.click('nav a[data-nav=cameras]');
    await page.locator('tr[data-camera="cam-gate"] td.state.online').waitFor({ timeout: 30_000 });
    await page.click('tr[data-camera="cam-gate"] a.button');
    await page.locator('.stage img.snapshot').waitFor({ state: 'visible', timeout: 20_000 }); // shown once the picture has loaded
    const reloads = gw.logs.filter((l) => l.msg === 'config reloaded').length;
    const before = readFileSync(file, 'utf8');
    await page.click('#zone-new');
    const corners: Array<[number, number]> = [[0.2, 0.55], [0.7, 0.55], [0.75, 0.9], [0.15, 0.9]];
    await clickAt([...corners, corners[0]!]); // clicking the first corner again closes the shape
    await page.fill('#zone-id', 'gate-kerb');
    await page.fill('#zone-name', 'Gate kerb');
    await page.check('input[name=rule][value=no-parking]');
    await page.selectOption('#zone-grid', '31011500301206');
    await shot('04-zone-drawn');
    await page.click('#zones-save');
    await page.locator('.zone-messages .msg.ok').waitFor();
    const cfg = parse(readFileSync(file, 'utf8')) as { cameras: Array<{ zones: Array<{ id: string; name: string; polygon: Array<[number, number]>; rules: string[]; gridId: string }> }> };
    const z = cfg.cameras[0]!.zones[0]!;
    assert.deepEqual([z.id, z.name, z.rules, z.gridId], ['gate-kerb', 'Gate kerb', ['no-parking'], '31011500301206']);
    assert.equal(z.polygon.length, 4);
    z.polygon.forEach(([x, y], i) => assert.ok(Math.abs(x - corners[i]![0]) < 0.01 && Math.abs(y - corners[i]![1]) < 0.01, `corner ${i}: ${x}, ${y}`));
    assert.match(readFileSync(file, 'utf8'), /^# Test cabinet at the hospital gate\. This comment stays/);
    assert.notEqual(readFileSync(file, 'utf8'), before);
    await waitFor(() => `the gateway to reload the config (its log: ${gw.stderrText.slice(-3000)})`, () => gw.logs.filter((l) => l.msg === 'config reloaded').length > reloads, 30_000);
    await shot('05-zone-saved');
  });

  test('a zone that crosses itself or leaves the picture is refused on the page; the config stays', async () => {
    const before = sha();
    await page.goto(`${base()}#/cameras/cam-gate`);
    await page.locator('.stage img.snapshot').waitFor({ state: 'visible', timeout: 20_000 }); // shown once the picture has loaded
    await page.locator('button[data-zone-button="gate-kerb"]').waitFor();
    await page.click('#zone-new');
    await clickAt([[0.1, 0.1], [0.4, 0.4], [0.4, 0.1], [0.1, 0.4]]);
    await page.keyboard.press('Enter');
    await page.check('input[name=rule][value=no-vending]');
    const crossing = page.locator('.zone-problems li[data-code="self-intersects"]');
    await crossing.waitFor();
    assert.match((await crossing.textContent())!, /crosses itself/);
    await page.click('#zones-save');
    assert.match((await page.locator('.zone-messages .msg.error').textContent())!, /fix the problems/);
    await shot('06-zone-crossing-refused');
    // Drag the first corner out of the picture, into the margin around it.
    const img = (await page.locator('.stage img.snapshot').boundingBox())!;
    const v = (await page.locator('circle[data-vertex="0"]').boundingBox())!;
    await page.mouse.move(v.x + v.width / 2, v.y + v.height / 2);
    await page.mouse.down();
    await page.mouse.move(img.x - img.width * 0.03, img.y + img.height * 0.1, { steps: 5 });
    await page.mouse.up();
    const outside = page.locator('.zone-problems li[data-code="out-of-frame"]');
    await outside.waitFor();
    assert.match((await outside.textContent())!, /leaves the picture/);
    await page.click('#zones-save');
    await page.locator('.zone-messages .msg.error', { hasText: 'fix the problems' }).waitFor();
    await shot('07-zone-out-of-frame-refused');
    assert.equal(sha(), before, 'nothing was written');
  });

  test('a config edit that would not validate is refused with its line; the file and the gateway stay', async () => {
    const before = readFileSync(file, 'utf8');
    await page.click('nav a[data-nav=config]');
    // (The console's CSP forbids evaluating strings, so this polls from here.)
    await waitFor(() => `the config text (the gateway's log: ${gw.stderrText.slice(-3000)})`, async () => (await page.inputValue('#config-text')).includes('gw-web'));
    const text = await page.inputValue('#config-text');
    await page.fill('#config-text', text.replace(/port: \d+\n  token/, 'port: "eighty"\n  token'));
    await page.click('#config-validate');
    await page.locator('#config-messages .problems li', { hasText: 'api.port' }).waitFor();
    await page.click('#config-save');
    const msg = page.locator('#config-messages');
    await msg.locator('.msg.error', { hasText: 'does not validate' }).waitFor();
    assert.match((await msg.textContent())!, /line 8: api\.port:/);
    await shot('08-config-refused');
    assert.equal(readFileSync(file, 'utf8'), before);
    assert.equal((await fetch(`http://127.0.0.1:${apiPort}/healthz`)).status, 200);
  });

  test('Chinese and English', async () => {
    await page.click('#lang-toggle');
    await page.locator('nav a[data-nav=devices]', { hasText: '设备' }).waitFor();
    await page.click('nav a[data-nav=dashboard]');
    await page.locator('#health', { hasText: '健康状态' }).waitFor();
    await shot('09-dashboard-zh');
    await page.click('#lang-toggle');
    await page.locator('nav a[data-nav=devices]', { hasText: 'Devices' }).waitFor();
  });

  test('an expired session sends the page back to the login with a message; wrong passwords are rate-limited', async () => {
    const p = await ctx.newPage();
    await p.goto(`http://127.0.0.1:${smallPort}/console/`);
    await p.fill('#password', pw.admin);
    await p.click('#login-submit');
    await p.waitForSelector('#health');
    // The dashboard polls; once the 5 s session is over the next poll is refused and the login comes back.
    await p.locator('#login-message', { hasText: 'session has expired' }).waitFor({ timeout: 30_000 });
    await shot('10-session-expired', p);
    for (const [i, expect] of [[1, '2 tries left'], [2, '1 tries left']] as const) {
      await p.fill('#password', `wrong-${i}`);
      await p.click('#login-submit');
      await p.locator('#login-message', { hasText: expect }).waitFor();
    }
    await p.fill('#password', 'wrong-3');
    await p.click('#login-submit');
    await p.locator('#login-message', { hasText: 'Too many wrong passwords' }).waitFor();
    await p.fill('#password', pw.admin);
    await p.click('#login-submit');
    await p.locator('#login-message', { hasText: 'Too many wrong passwords' }).waitFor();
    assert.equal(await p.locator('#health').count(), 0, 'even the right password waits');
    await shot('11-login-rate-limited', p);
    await p.close();
  });
});
