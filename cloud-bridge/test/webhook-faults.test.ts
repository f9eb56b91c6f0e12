import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { CaseReport } from '@gridgate/contract';
import { webhookSignature } from '../src/adapters/webhook.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { freePort, waitFor } from './helpers/net.js';
import { api, BRIDGE_CLI, NodeProcess } from './helpers/process.js';
import { reportMessage } from './helpers/reports.js';

// The case system misbehaves (500s, then no answer at all), a report is refused for good, junk arrives:
// a real gridgate-bridge process against real mosquitto and a real HTTP receiver that checks signatures.

const SECRET = 'webhook-test-secret-0123456789';
const TOKEN = 'bridge-api-token-test';
const GW = 'gw-wh';

interface Received {
  key: string;
  reportId: string;
  seq: number;
  status: string;
  signatureOk: boolean;
}

class CaseSystem {
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  refuse = new Set<string>();
  attempts = 0;
  readonly accepted: Received[] = [];
  server!: Server;
  port = 0;
  private hung: Array<() => void> = [];

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.port = await freePort();
    await new Promise<void>((r) => this.server.listen(this.port, '127.0.0.1', r));
  }

  private async handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    let body = '';
    for await (const c of req) body += c;
    this.attempts++;
    if (this.mode === 'hang') {
      this.hung.push(() => res.destroy());
      return;
    }
    if (this.mode === 'fail') {
      res.writeHead(503).end('maintenance');
      return;
    }
    const m = JSON.parse(body) as CaseReport;
    if (this.refuse.has(m.reportId)) {
      res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'grid 31011500301205 is not served by this district' }));
      return;
    }
    const ts = Number(req.headers['x-gridgate-timestamp']);
    const signatureOk = req.headers['x-gridgate-signature'] === webhookSignature(SECRET, ts, body) && Math.abs(Date.now() / 1000 - ts) < 300;
    this.accepted.push({ key: String(req.headers['idempotency-key']), reportId: m.reportId, seq: m.seq, status: m.status, signatureOk });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(m.status === 'new' ? { caseId: `WH-${m.reportId}`, status: 'registered' } : {}));
  }

  async stop(): Promise<void> {
    for (const h of this.hung) h();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('cloud-bridge → webhook: outages, refusals and junk (mosquitto, real bridge process)', () => {
  let central: Mosquitto;
  let bridge: NodeProcess;
  let gw: MqttClient;
  let apiPort: number;
  const cs = new CaseSystem();
  let seq = 0;
  const publish = async (m: CaseReport | string, topic = `gridgate/v1/${GW}/report`) => gw.publishAsync(topic, typeof m === 'string' ? m : JSON.stringify(m), { qos: 1 });

  before(async () => {
    central = await startMosquitto({
      users: { [GW]: 'gw-pw', bridge: 'bridge-pw' },
      acl: `user ${GW}\ntopic write gridgate/v1/${GW}/#\ntopic read gridgate/v1/${GW}/cmd\n\nuser bridge\ntopic read gridgate/v1/+/report\ntopic read gridgate/v1/+/cmd/reply\ntopic write gridgate/v1/+/cmd\n`,
    });
    await cs.start();
    apiPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'gg-bridge-wh-'));
    writeFileSync(
      join(dir, 'bridge.yaml'),
      `instanceId: bridge-wh
central: { url: "${central.url}", username: bridge, password: "\${BRIDGE_PW}" }
store: { file: ./state/bridge.db }
api: { port: ${apiPort}, token: "\${BRIDGE_TOKEN}" }
delivery:
  adapter: webhook
  timeoutMs: 400
  leaseS: 5
  orderHoldS: 2
  retry: { minMs: 100, maxMs: 600, giveUpAfterS: 3600 }
webhook: { url: "http://127.0.0.1:${cs.port}/cases", secret: "\${WEBHOOK_SECRET}" }
`,
    );
    bridge = new NodeProcess(BRIDGE_CLI, ['run', '--config', join(dir, 'bridge.yaml')], { BRIDGE_PW: 'bridge-pw', BRIDGE_TOKEN: TOKEN, WEBHOOK_SECRET: SECRET }).start();
    await bridge.waitForLog('central broker connected');
    gw = await mqtt.connectAsync(central.url, { username: GW, password: 'gw-pw', clientId: GW, protocolVersion: 5 });
  });

  after(async () => {
    await gw?.endAsync();
    await bridge?.kill('SIGKILL');
    await cs.stop();
    await central?.stop();
  });

  test('500s then minutes of silence: nothing lost, retries bounded, each report delivered in order, once, signed', async () => {
    cs.mode = 'fail';
    const reports = ['R-1', 'R-2', 'R-3', 'R-4'];
    const statuses: CaseReport['status'][] = ['new', 'update', 'resolved', 'verified'];
    const firstSeen = Date.now();
    for (const st of statuses) for (const r of reports) await publish(reportMessage({ gatewayId: GW, seq: ++seq, reportId: r, status: st, firstSeen }));
    await waitFor('the case system to be tried', () => cs.attempts >= 3, 10_000);
    const a0 = cs.attempts;
    await new Promise((r) => setTimeout(r, 3000));
    // 16 messages wait, each with its own backoff; the shared pause makes the queue probe, not hammer.
    assert.ok(cs.attempts - a0 < 16, `fewer attempts in 3 s of outage than reports waiting, got ${cs.attempts - a0}`);
    cs.mode = 'hang';
    await new Promise((r) => setTimeout(r, 2000));
    const stats = (await api<{ deliveries: { pending: number; retried: number } }>(apiPort, TOKEN, '/api/v1/stats')).body;
    assert.equal(stats.deliveries.pending, 16, 'all still queued');
    assert.ok(stats.deliveries.retried > 0);
    assert.equal(cs.accepted.length, 0);
    cs.mode = 'ok';
    await waitFor('all 16 delivered', () => cs.accepted.length >= 16, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(cs.accepted.length, 16, 'each message delivered once');
    assert.equal(new Set(cs.accepted.map((x) => x.key)).size, 16);
    assert.ok(cs.accepted.every((x) => x.signatureOk), 'every delivery carries a valid HMAC signature');
    for (const r of reports) {
      const got = cs.accepted.filter((x) => x.reportId === r);
      assert.deepEqual(got.map((x) => x.status), statuses, `order kept for ${r}`);
    }
    const rep = (await api<{ caseId: string; caseStatus: string; timings: { toRegisterS: number } }>(apiPort, TOKEN, '/api/v1/reports/R-1')).body;
    assert.equal(rep.caseId, 'WH-R-1', 'the case id from the receiver’s answer');
    assert.equal(rep.caseStatus, 'registered');
    assert.ok(rep.timings.toRegisterS >= 3, 'time to register includes the outage');
  });

  test('the case system calls back with a status: it is tracked and sent to the gateway as case.status', async () => {
    const cmds: Array<{ command: string; reportId: string; status: string; caseId?: string }> = [];
    await gw.subscribeAsync(`gridgate/v1/${GW}/cmd`, { qos: 1 });
    gw.on('message', (topic, payload) => {
      if (topic.endsWith('/cmd')) cmds.push(JSON.parse(payload.toString()));
    });
    const r = await api(apiPort, TOKEN, '/api/v1/reports/R-2/case', { method: 'POST', body: { status: 'handled', note: 'cover reseated' } });
    assert.equal(r.status, 200);
    const cmd = await waitFor('case.status handled', () => cmds.find((c) => c.reportId === 'R-2' && c.status === 'handled'), 10_000);
    assert.equal(cmd.command, 'case.status');
    assert.equal(cmd.caseId, 'WH-R-2');
    assert.equal((await api(apiPort, TOKEN, '/api/v1/reports/R-2/case', { method: 'POST', body: { status: 'dispatched' } })).status, 409, 'a step back is refused');
    assert.equal((await api(apiPort, TOKEN, '/api/v1/reports/nope/case', { method: 'POST', body: { status: 'handled' } })).status, 404);
    assert.equal((await api(apiPort, TOKEN, '/api/v1/reports/R-2/case', { method: 'POST', body: { status: 'fixed' } })).status, 400);
  });

  test('junk, schema-invalid and wrong-grid reports go to the dead letters with the reason; a duplicate is ignored', async () => {
    await publish('{"type": "report", ');
    const noGrid = reportMessage({ gatewayId: GW, seq: ++seq, reportId: 'R-bad', status: 'new' }) as Partial<CaseReport>;
    delete noGrid.gridId;
    await publish(JSON.stringify(noGrid));
    await publish(reportMessage({ gatewayId: GW, seq: ++seq, reportId: 'R-bad2', status: 'new', gridId: '3101150030120' }));
    await publish(reportMessage({ gatewayId: 'gw-other', seq: ++seq, reportId: 'R-bad3', status: 'new' }));
    const dup = reportMessage({ gatewayId: GW, seq: ++seq, reportId: 'R-5', status: 'new' });
    await publish(dup);
    await publish(dup);
    type Dead = Array<{ kind: string; reason: string; reportId: string | null; payload: string }>;
    const dead = await waitFor('4 dead letters', async () => {
      const d = (await api<Dead>(apiPort, TOKEN, '/api/v1/dead-letters')).body;
      return d.length >= 4 && d;
    }, 10_000);
    const reasons = dead.map((d) => d.reason).join('\n');
    assert.match(reasons, /not JSON/);
    assert.match(reasons, /not a valid CaseReport: gridId: /);
    assert.match(reasons, /gridId: a unit-grid ID has 14 digits/);
    assert.match(reasons, /gatewayId gw-other does not match the topic's gw-wh/);
    assert.ok(dead.some((d) => d.reportId === 'R-bad'), 'a dead letter can be found by the report id it claims');
    await waitFor('R-5 delivered', () => cs.accepted.some((x) => x.reportId === 'R-5'), 10_000);
    const stats = (await api<{ messages: { duplicate: number } }>(apiPort, TOKEN, '/api/v1/stats')).body;
    assert.equal(stats.messages.duplicate, 1);
    assert.equal(cs.accepted.filter((x) => x.reportId === 'R-5').length, 1);
  });

  test('a report the case system refuses for good is a dead letter, retried from the API once fixed', async () => {
    cs.refuse.add('R-6');
    await publish(reportMessage({ gatewayId: GW, seq: ++seq, reportId: 'R-6', status: 'new' }));
    type Dead = Array<{ id: number; kind: string; reason: string; reportId: string | null }>;
    const d = await waitFor('R-6 undeliverable', async () => (await api<Dead>(apiPort, TOKEN, '/api/v1/dead-letters')).body.find((x) => x.reportId === 'R-6' && x.kind === 'undeliverable'), 10_000);
    assert.match(d.reason, /refused by the case system: webhook .* answered 422: .*not served by this district/);
    cs.refuse.delete('R-6');
    assert.equal((await api(apiPort, TOKEN, `/api/v1/dead-letters/${d.id}/retry`, { method: 'POST' })).status, 200);
    await waitFor('R-6 delivered after the retry', () => cs.accepted.some((x) => x.reportId === 'R-6'), 10_000);
    const junk = (await api<Dead>(apiPort, TOKEN, '/api/v1/dead-letters')).body.find((x) => x.kind === 'invalid')!;
    assert.equal((await api(apiPort, TOKEN, `/api/v1/dead-letters/${junk.id}/retry`, { method: 'POST' })).status, 409);
    assert.equal((await fetch(`http://127.0.0.1:${apiPort}/api/v1/dead-letters`)).status, 401, 'the API needs the token');
  });
});
