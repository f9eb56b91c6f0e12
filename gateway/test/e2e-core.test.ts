import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { uplinkTopics, uuidv7 } from '@gridgate/contract';
import { hashPassword, generatePassword } from '../src/southbound/broker/credentials.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { GatewayProcess } from './helpers/gateway-process.js';
import { freePort, sleep, waitFor } from './helpers/net.js';
import { Consumer } from './helpers/consumer.js';
import { assertValidMessage, contractValidators } from './helpers/contract.js';
import { repoRoot } from './helpers/shared.js';

// The spine, end to end with real programs: a device publishes to the gateway's embedded broker, the
// gateway (a real `gridgate run` process) decodes it, applies alarm rules and publishes to a real
// mosquitto with password and ACL, where a consumer checks every message against the JSON Schemas.

const GW = 'gw-e2e';
const topics = uplinkTopics('gridgate/v1', GW);
const pw = { gw: generatePassword(), consumer: generatePassword(), cover1: generatePassword(), cover2: generatePassword(), api: generatePassword() };

describe('gateway core end to end (mosquitto, real gridgate process)', () => {
  let central: Mosquitto;
  let gw: GatewayProcess;
  let consumer: Consumer;
  let brokerPort: number;
  let apiPort: number;
  const devices: MqttClient[] = [];
  const validators = contractValidators();

  const device = async (id: string, password: string, extra: mqtt.IClientOptions = {}) => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { clientId: id, username: id, password, reconnectPeriod: 0, ...extra });
    devices.push(c);
    return c;
  };
  const status = async () =>
    (await fetch(`http://127.0.0.1:${apiPort}/api/v1/status`, { headers: { authorization: `Bearer ${pw.api}` } })).json() as Promise<{
      devices: Array<{ id: string; rejects: Record<string, number>; lastReject?: { reason: string; detail: string } }>;
      counters: Record<string, number>;
    }>;

  before(async () => {
    central = await startMosquitto({
      users: { [GW]: pw.gw, consumer: pw.consumer },
      acl: `user ${GW}\ntopic write gridgate/v1/${GW}/#\ntopic read gridgate/v1/${GW}/cmd\n\nuser consumer\ntopic read gridgate/v1/#\ntopic write gridgate/v1/+/cmd\n`,
    });
    brokerPort = await freePort();
    apiPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'gg-e2e-'));
    const cfg = join(dir, 'gw.yaml');
    writeFileSync(
      cfg,
      `gateway: { id: ${GW}, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { port: ${brokerPort}, maxPacketBytes: 4096, rateLimit: { perSecond: 2, burst: 10 } }
uplink: { url: "${central.url}", username: ${GW}, password: "\${E2E_CENTRAL_PW}", keepaliveS: 5 }
api: { port: ${apiPort}, token: "\${E2E_API_TOKEN}" }
devices:
  - id: cover-1
    profile: generic-json-manhole-cover
    componentCode: "0103"
    assetId: "3101150103000001"
    location: { lat: 31.2339, lon: 121.5331 }
    credentials: { passwordHash: "${await hashPassword(pw.cover1)}" }
    alarms: { cover-tilted: { clearForS: 0 } }
  - id: cover-2
    profile: generic-json-manhole-cover
    credentials: { passwordHash: "${await hashPassword(pw.cover2)}" }
`,
    );
    consumer = await Consumer.connect(central.url, { username: 'consumer', password: pw.consumer, protocolVersion: 5 }, 'gridgate/v1/#');
    gw = new GatewayProcess(['run', '--config', cfg], { E2E_CENTRAL_PW: pw.gw, E2E_API_TOKEN: pw.api }).start();
    await gw.waitForLog('gateway started');
    await gw.waitForLog('uplink connected');
    // A stock mosquitto announces a Receive Maximum of 20: the gateway says what that costs and what to change.
    const rm = await gw.waitForLog(/^uplink: the central broker accepts only 20 unacknowledged publishes/);
    assert.match(rm.msg, /raise its Receive Maximum \(mosquitto: max_inflight_messages\)/);
  });

  after(async () => {
    for (const d of devices) d.end(true);
    await gw?.kill('SIGKILL');
    await consumer?.close();
    await central?.stop();
  });

  test('birth: a retained, schema-valid online status', async () => {
    const s = await consumer.waitFor('status', (m) => m.state === 'online', 'online status');
    assert.equal(s.gatewayId, GW);
    assert.ok(consumer.received.some((r) => r.msg.type === 'status' && r.topic === topics.status));
  });

  test('telemetry: canonical metrics with units, grid, location and component code; ids and seq', async () => {
    const c = await device('cover-1', pw.cover1);
    await c.publishAsync('devices/cover-1/up', JSON.stringify({ tilt_deg: 1.5, cover_open: false, water_level_m: 0.4, battery_pct: 88, temperature_c: 18.5, firmware: 'x' }), { qos: 1 });
    const t = await consumer.waitFor('telemetry', (m) => m.deviceId === 'cover-1', 'telemetry of cover-1');
    assert.deepEqual(t.metrics.tilt, { value: 1.5, unit: 'deg' });
    assert.deepEqual(t.metrics.cover_open, { value: false });
    assert.deepEqual(t.metrics.water_level, { value: 0.4, unit: 'm' });
    assert.equal(t.gridId, '31011500301201');
    assert.deepEqual(t.location, { lat: 31.2339, lon: 121.5331 });
    assert.equal(t.componentCode, '0103', 'the device override of the profile class');
    assert.equal(t.assetId, '3101150103000001');
    assert.equal(t.assetType, 'manhole-cover');
    assert.match(t.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    const avail = await consumer.waitFor('availability', (m) => m.deviceId === 'cover-1' && m.state === 'online', 'cover-1 online');
    assert.ok(avail.seq < t.seq || avail.seq > t.seq, 'distinct sequence numbers');
  });

  test('tilt alarm: learned baseline, raised after forS, acknowledged by command, cleared', async () => {
    const c = devices[0]!;
    for (let i = 0; i < 5; i++) await c.publishAsync('devices/cover-1/up', JSON.stringify({ tilt_deg: 1 + i * 0.1 }), { qos: 1 });
    const before = Date.now();
    await c.publishAsync('devices/cover-1/up', JSON.stringify({ tilt_deg: 25 }), { qos: 1 });
    const raised = await consumer.waitFor('alarm', (m) => m.deviceId === 'cover-1' && m.rule === 'cover-tilted' && m.state === 'raised', 'tilt raised');
    assert.ok(Date.now() - before >= 2900, 'held for forS (3 s) before raising');
    assert.equal(raised.severity, 'critical');
    assert.equal(raised.value, 25);
    assert.ok(Math.abs((raised.baseline ?? NaN) - 1.2) < 1e-9, `baseline is the median of the learning samples, got ${raised.baseline}`);
    assert.deepEqual(raised.title, { zh: '井盖倾斜或移位', en: 'Manhole cover tilted or displaced' });

    const cmdId = uuidv7();
    await consumer.client.publishAsync(topics.cmd, JSON.stringify({ id: cmdId, ts: new Date().toISOString(), command: 'alarm.ack', alarmId: raised.alarmId, by: 'crew-7' }), { qos: 1 });
    const acked = await consumer.waitFor('alarm', (m) => m.alarmId === raised.alarmId && m.state === 'acknowledged', 'acknowledged');
    assert.equal(acked.acknowledgedBy, 'crew-7');
    const reply = await consumer.waitFor('cmd-reply', (m) => m.requestId === cmdId, 'ack reply');
    assert.equal(reply.ok, true);

    const badId = uuidv7();
    await consumer.client.publishAsync(topics.cmd, JSON.stringify({ id: badId, ts: new Date().toISOString(), command: 'alarm.ack', alarmId: 'cover-1/cover-tilted/1', by: 'x' }), { qos: 1 });
    const bad = await consumer.waitFor('cmd-reply', (m) => m.requestId === badId, 'reply to a bad ack');
    assert.equal(bad.ok, false);
    assert.match(bad.error ?? '', /no active, unacknowledged alarm/);
    const junkId = uuidv7();
    await consumer.client.publishAsync(topics.cmd, JSON.stringify({ id: junkId, command: 'reboot-everything' }), { qos: 1 });
    assert.match((await consumer.waitFor('cmd-reply', (m) => m.requestId === junkId, 'reply to junk')).error ?? '', /invalid command/);

    await c.publishAsync('devices/cover-1/up', JSON.stringify({ tilt_deg: 1.1 }), { qos: 1 });
    const cleared = await consumer.waitFor('alarm', (m) => m.alarmId === raised.alarmId && m.state === 'cleared', 'cleared');
    assert.equal(cleared.acknowledgedBy, 'crew-7');
  });

  test('bad input is refused with a reason, counted per device, logged once a minute, and nothing crashes', async () => {
    const c = devices[0]!;
    const rejectLogsBefore = gw.logs.filter((l) => l.msg === 'input rejected' && l.device === 'cover-1').length;
    await c.publishAsync('devices/cover-1/up', '{"tilt_deg": 1.2', { qos: 1 }); // malformed
    await c.publishAsync('devices/cover-1/up', JSON.stringify({ tilt_deg: 'level' }), { qos: 1 }); // wrong type
    await c.publishAsync('devices/cover-1/up', '{"tilt_deg": 1e999}', { qos: 1 }); // Infinity
    await c.publishAsync('devices/cover-1/up', '{"tilt_deg": NaN}', { qos: 1 }); // not JSON
    await c.publishAsync('devices/cover-1/up', JSON.stringify({ tilt_deg: 720 }), { qos: 1 }); // out of range
    await c.publishAsync('devices/cover-1/up', JSON.stringify([1, 2]), { qos: 1 }); // not an object
    await c.publishAsync('devices/cover-2/up', JSON.stringify({ tilt_deg: 1 }), { qos: 1 }); // someone else's topic
    const refused = await c.subscribeAsync('devices/#', { qos: 1 }).then((g) => g[0]!.qos === 128, () => true);
    assert.ok(refused, 'subscription outside the ACL refused');
    const own = await c.subscribeAsync('devices/cover-1/cmd', { qos: 1 });
    assert.equal(own[0]!.qos, 1, 'own command topic allowed');
    // Another device forging a command to cover-1: refused and never delivered (aedes forwards before it
    // acknowledges, so a forwarded forgery would arrive well within the wait).
    const forged: string[] = [];
    c.on('message', (topic, payload) => forged.push(`${topic} ${payload.toString()}`));
    const intruder = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { clientId: 'cover-2:intruder', username: 'cover-2', password: pw.cover2, reconnectPeriod: 0 });
    await intruder.publishAsync('devices/cover-1/cmd', JSON.stringify({ command: 'open-lock' }), { qos: 1 });
    await intruder.publishAsync('devices/cover-1/cmd', JSON.stringify({ command: 'open-lock' }), { qos: 0 });
    await new Promise((r) => setTimeout(r, 1000));
    await intruder.endAsync();
    assert.deepEqual(forged, [], 'a forged command reaches no device');

    const s = await waitFor('reject counters', async () => {
      const st = await status();
      const r = st.devices.find((d) => d.id === 'cover-1')!.rejects;
      return (r['acl-denied'] ?? 0) >= 2 && r['out-of-range'] === 1 ? r : undefined;
    });
    assert.equal(s['malformed-json'], 3, 'truncated JSON, NaN and a JSON array');
    assert.equal(s['wrong-type'], 1);
    assert.equal(s['non-finite'], 1);
    assert.equal(s['out-of-range'], 1);
    assert.equal(gw.logs.filter((l) => l.msg === 'input rejected' && l.device === 'cover-1').length - rejectLogsBefore, rejectLogsBefore ? 0 : 1, 'logged at most once per device per minute');
    await c.publishAsync('devices/cover-1/up', JSON.stringify({ tilt_deg: 'level' }), { qos: 1 });
    const last = await waitFor('last reject detail', async () => (await status()).devices.find((d) => d.id === 'cover-1')!.lastReject?.reason === 'wrong-type' && (await status()).devices.find((d) => d.id === 'cover-1')!.lastReject);
    assert.match(last!.detail, /tilt_deg/, 'the detail names the field');
    // Still alive and still working for the same device.
    await c.publishAsync('devices/cover-1/up', JSON.stringify({ tilt_deg: 1.3, battery_pct: 77 }), { qos: 1 });
    await consumer.waitFor('telemetry', (m) => m.deviceId === 'cover-1' && m.metrics.battery?.value === 77, 'good message after bad ones');
    assert.equal(gw.proc.exitCode, null);
  });

  test('authentication: anonymous, wrong password and unknown device are refused and counted', async () => {
    const url = `mqtt://127.0.0.1:${brokerPort}`;
    const refused = async (o: mqtt.IClientOptions) => {
      await assert.rejects(mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...o }), /Bad username or password|Not authorized|bad user/i);
    };
    await refused({ clientId: 'anon' });
    await refused({ clientId: 'cover-2', username: 'cover-2', password: 'guess' });
    await refused({ clientId: 'ghost', username: 'ghost', password: 'x' });
    const st = await status();
    assert.ok((st.counters['rejected.auth-failed'] ?? 0) >= 3);
  });

  test('limits: an oversized packet closes only that connection; a flood is rate-limited', async () => {
    const big = await device('cover-2', pw.cover2);
    const closed = new Promise<void>((res) => big.once('close', () => res()));
    big.publish('devices/cover-2/up', JSON.stringify({ tilt_deg: 1, pad: 'x'.repeat(8000) }), { qos: 0 });
    await closed;
    const c2 = await device('cover-2', pw.cover2);
    for (let i = 0; i < 30; i++) c2.publish('devices/cover-2/up', JSON.stringify({ battery_pct: 50 + i }), { qos: 0 });
    const st = await waitFor('rate-limited count', async () => {
      const r = (await status()).devices.find((d) => d.id === 'cover-2')!.rejects;
      return (r['rate-limited'] ?? 0) >= 15 ? r : undefined;
    });
    assert.ok((st['rate-limited'] ?? 0) <= 20, `burst 10 then 2/s: about 20 of 30 refused, got ${st['rate-limited']}`);
    assert.ok(gw.logs.some((l) => l.msg === 'embedded broker: packet too large, connection closed'));
  });

  test('every message the gateway published validates against its JSON Schema; no secret was logged', async () => {
    await sleep(300);
    assert.ok(consumer.received.length > 10);
    const published = consumer.received.filter((r) => !r.topic.endsWith('/cmd')); // our own commands echo back
    for (const r of published) assertValidMessage(validators, r.msg);
    const seqs = published.filter((r) => r.msg.type !== 'status').map((r) => (r.msg as { seq: number }).seq);
    assert.equal(new Set(seqs).size, seqs.length, 'seq unique per message');
    for (const secret of Object.values(pw)) assert.ok(!gw.stderrText.includes(secret), 'a secret appeared in the log');
  });

  test('power cut: kill -9 leaves the retained Last Will saying offline', async () => {
    await gw.kill('SIGKILL');
    const will = await consumer.waitFor('status', (m) => m.state === 'offline', 'last will', 20_000);
    assert.equal(will.reason, 'last-will');
    assertValidMessage(validators, will);
  });
});
