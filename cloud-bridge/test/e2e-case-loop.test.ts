import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { CaseReport } from '@gridgate/contract';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { freePort, sleep, waitFor } from './helpers/net.js';
import { api, BRIDGE_CLI, GATEWAY_CLI, NodeProcess, repoRoot } from './helpers/process.js';

// The acceptance story with real programs: a manhole cover tilts → the gateway (a real `gridgate run`)
// raises the alarm and publishes a case report with the grid from the demo grid map and class 0102 →
// mosquitto → the cloud bridge (a real `gridgate-bridge run`) files a case in its local inbox → the
// operator dispatches it and marks it handled → the gateway verifies with the same sensor: `verified`,
// and the case closes. Then a second tilt whose fix does not hold: `reopened`, counted as rework.

const GW = 'gw-loop';
const FLEET = 'fleet-secret-for-the-loop-test-0123';
const TOKEN = { gw: 'gw-api-token', bridge: 'bridge-api-token' };

interface InboxCase {
  caseId: string;
  reportId: string;
  status: string;
  report: CaseReport;
}

describe('closed loop: cover tilts → report with grid ID → case in the inbox → handled → sensor recovers → verified', () => {
  let central: Mosquitto;
  let gateway: NodeProcess;
  let bridge: NodeProcess;
  let device: MqttClient;
  let watcher: MqttClient;
  const seen: CaseReport[] = [];
  let gwApi: number;
  let brApi: number;
  let tilt = 1.1;
  let feeding: NodeJS.Timeout | undefined;

  before(async () => {
    central = await startMosquitto({
      users: { [GW]: 'gw-pw', bridge: 'bridge-pw', watcher: 'watch-pw' },
      acl: `user ${GW}\ntopic write gridgate/v1/${GW}/#\ntopic read gridgate/v1/${GW}/cmd\n\nuser bridge\ntopic read gridgate/v1/+/report\ntopic read gridgate/v1/+/cmd/reply\ntopic write gridgate/v1/+/cmd\n\nuser watcher\ntopic read gridgate/v1/#\n`,
    });
    const dir = mkdtempSync(join(tmpdir(), 'gg-loop-'));
    const brokerPort = await freePort();
    gwApi = await freePort();
    brApi = await freePort();
    writeFileSync(
      join(dir, 'gw.yaml'),
      `gateway: { id: ${GW}, gridId: "31011500301205", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./gw-state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { port: ${brokerPort}, deviceKeySecret: "${FLEET}" }
uplink: { url: "${central.url}", username: ${GW}, password: gw-pw }
api: { port: ${gwApi}, token: ${TOKEN.gw} }
grids: { file: ${join(repoRoot, 'firmware-configs', 'grids', 'yangjing-demo.geojson')} }
devices:
  - id: cover-001
    profile: generic-json-manhole-cover
    name: 民生路 12 号 污水井盖
    address: 浦东新区民生路 12 号
    location: { lat: 31.2339, lon: 121.5331 }
    assetId: "3101150102000012"
    reportingIntervalS: 1
    alarms: { cover-tilted: { forS: 1, clearForS: 1 } }
`,
    );
    writeFileSync(
      join(dir, 'bridge.yaml'),
      `instanceId: bridge-loop
central: { url: "${central.url}", username: bridge, password: bridge-pw }
store: { file: ./bridge-state/bridge.db }
api: { port: ${brApi}, token: ${TOKEN.bridge} }
`,
    );
    watcher = await mqtt.connectAsync(central.url, { username: 'watcher', password: 'watch-pw', protocolVersion: 5 });
    await watcher.subscribeAsync(`gridgate/v1/${GW}/report`, { qos: 1 });
    watcher.on('message', (_t, p) => seen.push(JSON.parse(p.toString()) as CaseReport));
    bridge = new NodeProcess(BRIDGE_CLI, ['run', '--config', join(dir, 'bridge.yaml')]).start();
    gateway = new NodeProcess(GATEWAY_CLI, ['run', '--config', join(dir, 'gw.yaml')]).start();
    await Promise.all([bridge.waitForLog('central broker connected'), gateway.waitForLog('uplink connected')]);
    device = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { clientId: 'cover-001', username: 'cover-001', password: createHmac('sha256', FLEET).update('cover-001').digest('base64url') });
    // The cover reports twice a second: level while `tilt` is small, tilted when it is large.
    feeding = setInterval(() => void device.publishAsync('devices/cover-001/up', JSON.stringify({ tilt_deg: tilt, cover_open: false, battery_pct: 90 }), { qos: 1 }).catch(() => {}), 500);
  });

  after(async () => {
    clearInterval(feeding);
    await device?.endAsync();
    await watcher?.endAsync();
    await gateway?.kill('SIGKILL');
    await bridge?.kill('SIGKILL');
    await central?.stop();
  });

  const cases = async () => (await api<InboxCase[]>(brApi, TOKEN.bridge, '/api/v1/cases')).body;
  const setCase = (caseId: string, status: string) => api<{ caseStatus: string }>(brApi, TOKEN.bridge, `/api/v1/cases/${caseId}/status`, { method: 'POST', body: { status } });

  test('the whole loop, then a fix that does not hold', async () => {
    await sleep(3000); // the learning samples: the cover's level baseline
    tilt = 24;
    const c = await waitFor('a case in the inbox', async () => (await cases())[0], 20_000);
    const report = c.report;
    assert.equal(report.status, 'new');
    assert.equal(report.gridId, '31011500301205', 'the grid the demo map gives cover-001’s location');
    assert.equal(report.category.code, '0102');
    assert.deepEqual(report.category.minor.name, { zh: '污水井盖', en: 'Sewer manhole cover' });
    assert.equal(report.assetId, '3101150102000012');
    assert.equal(report.address, '浦东新区民生路 12 号');
    assert.equal(report.severity, 'critical');
    assert.match(report.description.zh, /井盖倾斜或移位/);
    assert.equal(report.evidence[0]?.kind, 'readings');
    assert.equal(c.caseId, 'GG-000001');
    assert.equal(c.status, 'registered', 'registered (立案) on arrival');
    assert.ok(CaseReport.safeParse(seen.find((m) => m.status === 'new')).success, 'what the gateway published is a valid CaseReport');

    const html = await fetch(`http://127.0.0.1:${brApi}/inbox`, { headers: { authorization: `Basic ${Buffer.from(`op:${TOKEN.bridge}`).toString('base64')}` } });
    assert.equal(html.status, 200);
    const page = await html.text();
    for (const s of ['GG-000001', '31011500301205', '0102 污水井盖', 'registered', '立案', report.evidence[0]!.sha256.slice(0, 12)]) assert.ok(page.includes(s), `the inbox page shows ${s}`);

    assert.equal((await setCase(c.caseId, 'dispatched')).status, 200);
    assert.equal((await setCase(c.caseId, 'handled')).status, 200);
    // The crew is done but the cover is still tilted for a moment; then it reads level again.
    await sleep(1000);
    tilt = 1.2;
    const verified = await waitFor('a verified report', () => seen.find((m) => m.reportId === report.reportId && m.status === 'verified'), 20_000);
    assert.equal(verified.caseId, 'GG-000001', 'the gateway learned the case id from the bridge');
    assert.equal(verified.verification?.result, 'verified');
    assert.equal(verified.verification?.method, 'sensor');
    assert.ok(verified.evidence.length >= 2, 'fresh evidence with the verdict');
    const last = verified.evidence.at(-1)!;
    const file = await fetch(`http://127.0.0.1:${gwApi}/api/v1/${last.ref}`, { headers: { authorization: `Bearer ${TOKEN.gw}` } });
    assert.equal(file.status, 200);
    assert.equal(createHash('sha256').update(Buffer.from(await file.arrayBuffer())).digest('hex'), last.sha256, 'the evidence file matches its SHA-256');
    const closed = await waitFor('the case closed', async () => (await cases()).find((x) => x.caseId === 'GG-000001' && x.status === 'closed'), 10_000);
    assert.equal(closed.report.status, 'verified');

    type Detail = { caseStatus: string; timings: { toRegisterS: number; toDispatchS: number; toCloseS: number; onTime: Record<string, boolean> }; downlinks: Array<{ status: string; reply_ok: number | null }> };
    const detail = await waitFor('the case closed in the tracker', async () => {
      const d = (await api<Detail>(brApi, TOKEN.bridge, `/api/v1/reports/${report.reportId}`)).body;
      return d.caseStatus === 'closed' && d;
    });
    assert.ok(detail.timings.toRegisterS < 60 && detail.timings.toCloseS > 0);
    assert.deepEqual(detail.timings.onTime, { register: true, dispatch: true, handle: true });
    const handledCmd = await waitFor('the gateway’s reply to handled', async () => {
      const d = (await api<Detail>(brApi, TOKEN.bridge, `/api/v1/reports/${report.reportId}`)).body;
      return d.downlinks.find((x) => x.status === 'handled' && x.reply_ok !== null);
    });
    assert.equal(handledCmd.reply_ok, 1, 'the gateway accepted case.status handled');
    type GwReports = { recent: Array<{ reportId: string; status: string; caseId: string; caseStatus: string }> };
    const mine = await waitFor('the close back at the gateway', async () =>
      (await api<GwReports>(gwApi, TOKEN.gw, '/api/v1/reports')).body.recent.find((r) => r.reportId === report.reportId && r.caseStatus === 'closed'),
    );
    assert.equal(mine.status, 'verified');
    assert.equal(mine.caseId, 'GG-000001');

    // Second tilt: a new report (the first is closed). The crew says handled, but the cover stays tilted.
    tilt = 25;
    const c2 = await waitFor('a second case', async () => (await cases()).find((x) => x.caseId === 'GG-000002'), 20_000);
    assert.notEqual(c2.reportId, report.reportId);
    assert.equal((await setCase(c2.caseId, 'handled')).status, 200);
    const reopened = await waitFor('reopened', () => seen.find((m) => m.reportId === c2.reportId && m.status === 'reopened'), 30_000);
    assert.equal(reopened.verification?.result, 'reopened');
    await waitFor('the case back in the queue', async () => (await cases()).find((x) => x.caseId === 'GG-000002' && x.status === 'reopened'), 10_000);
    const stats = (await api<{ cases: number; rates: { closure: number; rework: number; onTimeHandling: number } }>(brApi, TOKEN.bridge, '/api/v1/stats')).body;
    assert.equal(stats.cases, 2);
    assert.equal(stats.rates.closure, 0.5);
    assert.equal(stats.rates.rework, 0.5, 'one of two handled cases came back');
    assert.equal(stats.rates.onTimeHandling, 1);
    const metrics = await (await fetch(`http://127.0.0.1:${brApi}/metrics`, { headers: { authorization: `Bearer ${TOKEN.bridge}` } })).text();
    assert.match(metrics, /gridgate_bridge_case_rate\{rate="rework"\} 0\.5/);
    assert.match(metrics, /gridgate_bridge_case_stage_seconds\{stage="close",quantile="0\.5"\} \d/);
    assert.deepEqual((await api<unknown[]>(brApi, TOKEN.bridge, '/api/v1/dead-letters')).body, [], 'every gateway message was valid');
  });
});
