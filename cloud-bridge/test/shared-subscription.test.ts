import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { freePort, sleep, waitFor } from './helpers/net.js';
import { api, BRIDGE_CLI, NodeProcess } from './helpers/process.js';
import { reportMessage } from './helpers/reports.js';

// Two bridge instances share the load through an MQTT 5 shared subscription on a real mosquitto and share
// one SQLite store. One is killed (SIGKILL) mid-stream and comes back, as a supervisor restarts it:
// every report is delivered, once, and the latest status of each wins.

const GW = 'gw-share';
const TOKEN = 'share-token';
const REPORTS = 40;

let central: Mosquitto;
let dir: string;
let gw: MqttClient;
const bridges = new Map<string, NodeProcess>();
const ports = new Map<string, number>();

function startBridge(id: string): NodeProcess {
  const p = new NodeProcess(BRIDGE_CLI, ['run', '--config', join(dir, `${id}.yaml`)], { BRIDGE_PW: 'bridge-pw' }).start();
  bridges.set(id, p);
  return p;
}

before(async () => {
  central = await startMosquitto({
    users: { [GW]: 'gw-pw', bridge: 'bridge-pw' },
    acl: `user ${GW}\ntopic write gridgate/v1/${GW}/#\n\nuser bridge\ntopic read gridgate/v1/+/report\ntopic read gridgate/v1/+/cmd/reply\ntopic write gridgate/v1/+/cmd\n`,
  });
  dir = mkdtempSync(join(tmpdir(), 'gg-bridge-share-'));
  for (const id of ['bridge-a', 'bridge-b']) {
    ports.set(id, await freePort());
    writeFileSync(
      join(dir, `${id}.yaml`),
      `instanceId: ${id}
central: { url: "${central.url}", username: bridge, password: "\${BRIDGE_PW}", shareGroup: case-bridges }
store: { file: ./shared.db }
api: { port: ${ports.get(id)}, token: ${TOKEN} }
delivery: { adapter: inbox, leaseS: 3, orderHoldS: 5 }
`,
    );
  }
  await Promise.all(['bridge-a', 'bridge-b'].map((id) => startBridge(id).waitForLog('central broker connected')));
  gw = await mqtt.connectAsync(central.url, { username: GW, password: 'gw-pw', clientId: GW, protocolVersion: 5 });
});

after(async () => {
  await gw?.endAsync();
  for (const b of bridges.values()) await b.kill('SIGKILL');
  await central?.stop();
});

test('two instances, one killed mid-stream and restarted: every report becomes exactly one case with its latest status', async () => {
  let seq = 0;
  const firstSeen = Date.now();
  const published: string[] = [];
  let killed = false;
  for (let i = 0; i < REPORTS; i++) {
    const reportId = `S-${String(i).padStart(3, '0')}`;
    for (const status of ['new', 'update'] as const) {
      const m = reportMessage({ gatewayId: GW, seq: ++seq, reportId, status, firstSeen });
      await gw.publishAsync(`gridgate/v1/${GW}/report`, JSON.stringify(m), { qos: 1 });
      published.push(m.id);
    }
    if (i === Math.floor(REPORTS / 3)) {
      await bridges.get('bridge-a')!.kill('SIGKILL');
      killed = true;
    }
    await sleep(10);
  }
  assert.ok(killed);
  // The supervisor restarts it under the same client id: the broker hands over what it queued for it.
  const again = startBridge('bridge-a');
  await again.waitForLog('central broker connected', 20_000, (l) => l.sessionPresent === true);

  const db = new Database(join(dir, 'shared.db'), { readonly: true, fileMustExist: true });
  try {
    await waitFor(
      `${REPORTS * 2} messages stored and delivered`,
      () => (db.prepare("SELECT count(*) AS n FROM deliveries WHERE state IN ('done', 'skipped')").get() as { n: number }).n === REPORTS * 2,
      30_000,
    );
    const stored = db.prepare('SELECT id, received_by FROM messages').all() as Array<{ id: string; received_by: string }>;
    assert.deepEqual(new Set(stored.map((m) => m.id)), new Set(published), 'every message stored, none twice');
    const by = new Set(stored.map((m) => m.received_by));
    assert.ok(by.has('bridge-a') && by.has('bridge-b'), `both instances took a share: ${[...by].join(', ')}`);
    const cases = db.prepare('SELECT case_id, report_id, status, seq FROM inbox_cases').all() as Array<{ case_id: string; report_id: string; status: string; seq: number }>;
    assert.equal(cases.length, REPORTS, 'one case per report');
    assert.equal(new Set(cases.map((c) => c.report_id)).size, REPORTS);
    const reports = db.prepare('SELECT report_id, latest_seq, delivered_seq, status FROM reports').all() as Array<{ report_id: string; latest_seq: number; delivered_seq: number; status: string }>;
    for (const r of reports) {
      assert.equal(r.status, 'update', `${r.report_id}: the latest status`);
      assert.equal(r.delivered_seq, r.latest_seq, `${r.report_id}: the latest message reached the case system`);
      assert.equal(cases.find((c) => c.report_id === r.report_id)!.seq, r.latest_seq);
    }
  } finally {
    db.close();
  }
  const cases = (await api<unknown[]>(ports.get('bridge-b')!, TOKEN, '/api/v1/cases')).body;
  assert.equal(cases.length, REPORTS, 'either instance serves the same inbox');
});
