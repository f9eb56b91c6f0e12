import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Command, type CaseReport } from '@gridgate/contract';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { freePort, sleep, waitFor } from './helpers/net.js';
import { api, BRIDGE_CLI, NodeProcess } from './helpers/process.js';
import { reportMessage } from './helpers/reports.js';

// Open311 GeoReport v2 against a small real HTTP server that speaks it: form-encoded POST /requests
// (with a token for one request, as servers without real-time ids do), GET /requests polled for status,
// and the statuses going back to the gateway as case.status commands.

const GW = 'gw-311';
const TOKEN = 'o311-api-token';

class GeoReportServer {
  server!: Server;
  port = 0;
  readonly posts: Array<{ contentType: string; form: URLSearchParams }> = [];
  readonly status = new Map<string, 'open' | 'closed'>();
  useToken = false;
  private n = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const url = new URL(req.url!, 'http://x');
        const json = (code: number, v: unknown) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(v));
        if (req.method === 'POST' && url.pathname === '/v2/requests.json') {
          const form = new URLSearchParams(body);
          this.posts.push({ contentType: String(req.headers['content-type']), form });
          if (form.get('api_key') !== 'city-key') return json(403, [{ code: 403, description: 'api_key is wrong' }]);
          if (form.get('attribute[report_id]') === 'O-5') return json(400, [{ code: 400, description: 'sewer-cover is not served at this location' }]);
          const id = `311-${++this.n}`;
          this.status.set(id, 'open');
          if (this.useToken) return json(200, [{ token: `tok-${id}` }]);
          return json(201, [{ service_request_id: id, service_notice: 'Thank you' }]);
        }
        const tok = /^\/v2\/tokens\/tok-(.+)\.json$/.exec(url.pathname);
        if (req.method === 'GET' && tok) return json(200, [{ service_request_id: tok[1], token: `tok-${tok[1]}` }]);
        if (req.method === 'GET' && url.pathname === '/v2/requests.json') {
          const ids = (url.searchParams.get('service_request_id') ?? '').split(',').filter((x) => this.status.has(x));
          return json(200, ids.map((id) => ({ service_request_id: id, status: this.status.get(id), status_notes: this.status.get(id) === 'closed' ? 'cover reseated by crew 7' : null, updated_datetime: new Date().toISOString() })));
        }
        json(404, [{ code: 404, description: 'not found' }]);
      });
    });
    this.port = await freePort();
    await new Promise<void>((r) => this.server.listen(this.port, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('cloud-bridge → Open311 GeoReport v2 (mosquitto, real bridge process, HTTP server)', () => {
  let central: Mosquitto;
  let bridge: NodeProcess;
  let gw: MqttClient;
  let apiPort: number;
  const city = new GeoReportServer();
  const cmds: Command[] = [];
  let seq = 0;
  const publish = (m: CaseReport) => gw.publishAsync(`gridgate/v1/${GW}/report`, JSON.stringify(m), { qos: 1 });

  before(async () => {
    central = await startMosquitto({
      users: { [GW]: 'gw-pw', bridge: 'bridge-pw' },
      acl: `user ${GW}\ntopic write gridgate/v1/${GW}/#\ntopic read gridgate/v1/${GW}/cmd\n\nuser bridge\ntopic read gridgate/v1/+/report\ntopic read gridgate/v1/+/cmd/reply\ntopic write gridgate/v1/+/cmd\n`,
    });
    await city.start();
    apiPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'gg-bridge-311-'));
    writeFileSync(
      join(dir, 'bridge.yaml'),
      `instanceId: bridge-311
central: { url: "${central.url}", username: bridge, password: bridge-pw }
store: { file: ./state/bridge.db }
api: { port: ${apiPort}, token: ${TOKEN} }
delivery: { adapter: open311, timeoutMs: 2000, retry: { minMs: 100, maxMs: 500 } }
open311:
  url: http://127.0.0.1:${city.port}/v2
  apiKey: \${CITY_KEY}
  jurisdictionId: pudong.example
  serviceCodes: { "0102": sewer-cover, "0501": street-vending }
  mediaBaseUrl: https://gateways.example/evidence
  pollS: 0.3
`,
    );
    bridge = new NodeProcess(BRIDGE_CLI, ['run', '--config', join(dir, 'bridge.yaml')], { CITY_KEY: 'city-key' }).start();
    await bridge.waitForLog('central broker connected');
    gw = await mqtt.connectAsync(central.url, { username: GW, password: 'gw-pw', clientId: GW, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 600 } });
    await gw.subscribeAsync(`gridgate/v1/${GW}/cmd`, { qos: 1 });
    gw.on('message', (topic, p) => {
      if (topic.endsWith('/cmd')) cmds.push(Command.parse(JSON.parse(p.toString())));
    });
  });

  after(async () => {
    await gw?.endAsync();
    await bridge?.kill('SIGKILL');
    await city.stop();
    await central?.stop();
  });

  const cmdFor = (reportId: string, status: string) => waitFor(`case.status ${status} for ${reportId}`, () => cmds.find((c) => c.command === 'case.status' && c.reportId === reportId && c.status === status), 10_000);

  test('new → POST /requests form-encoded with service_code, lat/long, description, grid attribute; open → registered; closed → handled to the gateway; verified → closed', async () => {
    await publish(reportMessage({ gatewayId: GW, seq: ++seq, reportId: 'O-1', status: 'new' }));
    const post = await waitFor('the POST', () => city.posts[0], 10_000);
    assert.equal(post.contentType, 'application/x-www-form-urlencoded');
    const f = post.form;
    assert.equal(f.get('service_code'), 'sewer-cover');
    assert.equal(f.get('jurisdiction_id'), 'pudong.example');
    assert.equal(f.get('lat'), '31.2339');
    assert.equal(f.get('long'), '121.5331');
    assert.equal(f.get('address_string'), '浦东新区民生路 12 号');
    assert.equal(f.get('attribute[grid_id]'), '31011500301205');
    assert.equal(f.get('attribute[report_id]'), 'O-1');
    assert.equal(f.get('attribute[category_code]'), '0102');
    assert.match(f.get('description')!, /井盖倾斜 O-1 new\n\nCover tilted O-1 new/);
    assert.equal(f.get('media_url'), null, 'sensor readings are not a picture');

    const registered = await cmdFor('O-1', 'registered');
    assert.equal((registered as { caseId?: string }).caseId, '311-1');
    city.status.set('311-1', 'closed');
    const handled = await cmdFor('O-1', 'handled');
    assert.match((handled as { note?: string }).note ?? '', /cover reseated by crew 7/);
    await publish(reportMessage({ gatewayId: GW, seq: ++seq, reportId: 'O-1', status: 'verified' }));
    await cmdFor('O-1', 'closed');
    assert.equal(city.posts.length, 1, 'a verified report opens no new request');
    const r = (await api<{ caseStatus: string; caseId: string }>(apiPort, TOKEN, '/api/v1/reports/O-1')).body;
    assert.deepEqual([r.caseId, r.caseStatus], ['311-1', 'closed']);
  });

  test('a token first, then the id; a picture as media_url; reopened → a new request naming the old one', async () => {
    city.useToken = true;
    const m = reportMessage({ gatewayId: GW, seq: ++seq, reportId: 'O-2', status: 'new', code: '0501' });
    m.category = { kind: 'event', code: '0501', major: { code: '05', name: { zh: '街面秩序', en: 'Street order' } }, minor: { code: '0501', name: { zh: '无照经营游商', en: 'Unlicensed street vending' } } };
    m.evidence = [{ kind: 'annotated', ref: 'snapshots/cam-1/42.jpg', sha256: 'c'.repeat(64), takenAt: m.ts, blurred: true }];
    await publish(m);
    const post = await waitFor('the POST for O-2', () => city.posts.find((p) => p.form.get('attribute[report_id]') === 'O-2'), 10_000);
    assert.equal(post.form.get('service_code'), 'street-vending');
    assert.equal(post.form.get('media_url'), `https://gateways.example/evidence/${GW}/snapshots/cam-1/42.jpg`);
    const reg = await cmdFor('O-2', 'registered');
    assert.equal((reg as { caseId?: string }).caseId, '311-2', 'the token resolved to the request id');
    city.useToken = false;
    city.status.set('311-2', 'closed');
    await cmdFor('O-2', 'handled');
    await publish({ ...m, ...reportMessage({ gatewayId: GW, seq: ++seq, reportId: 'O-2', status: 'reopened' }), category: m.category, evidence: m.evidence });
    const again = await waitFor('a second request for O-2', () => city.posts.filter((p) => p.form.get('attribute[report_id]') === 'O-2')[1], 10_000);
    assert.match(again.form.get('description')!, /^Reopened \(311-2\): /);
    await waitFor('the new case id', async () => (await api<{ caseId: string }>(apiPort, TOKEN, '/api/v1/reports/O-2')).body.caseId === '311-3', 10_000);
    await sleep(800); // a few more polls: the old, closed request must not say "handled" about the reopened case
    assert.equal(cmds.filter((c) => c.command === 'case.status' && c.reportId === 'O-2' && c.status === 'handled').length, 1);
    assert.equal((await api<{ caseId: string; caseStatus: string }>(apiPort, TOKEN, '/api/v1/reports/O-2')).body.caseStatus, 'reopened');
  });

  test('an unmapped category and a request the city refuses are dead letters with the reason', async () => {
    await publish(reportMessage({ gatewayId: GW, seq: ++seq, reportId: 'O-3', status: 'new', code: '0505' }));
    type Dead = Array<{ kind: string; reason: string; reportId: string }>;
    const d = await waitFor('O-3 dead letter', async () => (await api<Dead>(apiPort, TOKEN, '/api/v1/dead-letters')).body.find((x) => x.reportId === 'O-3'), 10_000);
    assert.equal(d.kind, 'undeliverable');
    assert.match(d.reason, /no Open311 service_code for category 0505 .*add it to open311.serviceCodes/);
    const bad = reportMessage({ gatewayId: GW, seq: ++seq, reportId: 'O-4', status: 'new' });
    const posts = city.posts.length;
    // A location the contract allows but this city's server rejects: a 400 is final.
    bad.location = { lat: 91, lon: 0 } as never;
    await gw.publishAsync(`gridgate/v1/${GW}/report`, JSON.stringify(bad), { qos: 1 });
    const inv = await waitFor('O-4 refused', async () => (await api<Dead>(apiPort, TOKEN, '/api/v1/dead-letters')).body.find((x) => x.reportId === 'O-4'), 10_000);
    assert.equal(inv.kind, 'invalid', 'lat 91 never reaches the city: the contract refuses it first');
    assert.equal(city.posts.length, posts);
    await publish(reportMessage({ gatewayId: GW, seq: ++seq, reportId: 'O-5', status: 'new' }));
    const refused = await waitFor('O-5 refused by the city', async () => (await api<Dead>(apiPort, TOKEN, '/api/v1/dead-letters')).body.find((x) => x.reportId === 'O-5'), 10_000);
    assert.equal(refused.kind, 'undeliverable');
    assert.match(refused.reason, /Open311 POST .*requests.json answered 400: .*not served at this location/);
  });
});
