import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { generatePassword } from '../src/southbound/broker/credentials.js';
import { chirpStackV4Up, ttnV3Up } from '../fakes/sim/lns-messages.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { GatewayProcess } from './helpers/gateway-process.js';
import { freePort, waitFor } from './helpers/net.js';
import { Consumer } from './helpers/consumer.js';
import { assertValidMessage, contractValidators } from './helpers/contract.js';
import { repoRoot } from './helpers/shared.js';

// LoRaWAN devices through real network-server brokers: one mosquitto plays a ChirpStack v4 integration,
// another a The Things Stack v3 one; the gateway subscribes to both and maps DevEUIs to profiles.

const GW = 'gw-lns';
const pw = { gw: generatePassword(), consumer: generatePassword(), lns: generatePassword(), ns: generatePassword() };
const EM400 = Buffer.from('01755c0367010104824408050000', 'hex'); // battery 92, 25.7 °C, 2116 mm, position normal
const PR26_TILT = Buffer.from('0201670003' + '3e80' + '6017' + '0c7f', 'hex'); // vendor example, DL-PR26

describe('LoRaWAN network servers (ChirpStack v4 and v3, TTN v3 over real mosquitto)', () => {
  let central: Mosquitto;
  let chirp: Mosquitto;
  let ttn: Mosquitto;
  let gw: GatewayProcess;
  let consumer: Consumer;
  let chirpPub: MqttClient;
  let ttnPub: MqttClient;
  let apiPort: number;
  let fCnt = 0;
  const validators = contractValidators();

  before(async () => {
    central = await startMosquitto();
    chirp = await startMosquitto({ users: { 'gridgate-reader': pw.lns, ns: pw.ns }, acl: 'user gridgate-reader\ntopic read application/#\nuser ns\ntopic write application/#\n' });
    ttn = await startMosquitto({ users: { 'gridgate-reader': pw.lns, ns: pw.ns }, acl: 'user gridgate-reader\ntopic read v3/#\nuser ns\ntopic write v3/#\n' });
    apiPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'gg-lns-'));
    const cfg = join(dir, 'gw.yaml');
    writeFileSync(
      cfg,
      `gateway: { id: ${GW}, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { enabled: false }
uplink: { url: "${central.url}", keepaliveS: 5 }
api: { port: ${apiPort}, token: "${pw.consumer}" }
lns:
  - { id: chirp, kind: chirpstack-v4, url: "${chirp.url}", username: gridgate-reader, password: "\${LNS_PW}" }
  - { id: ttn, kind: ttn-v3, url: "${ttn.url}", username: gridgate-reader, password: "\${LNS_PW}" }
devices:
  - { id: cover-9, profile: milesight-em400-mud, lorawan: { devEui: "24E124713B211009", lns: chirp } }
  - { id: hydrant-9, profile: decentlab-dl-pr26, lorawan: { devEui: "70b3d57ba0000167" }, params: { pmin_bar: 0, pmax_bar: 1 } }
`,
    );
    consumer = await Consumer.connect(central.url, {}, 'gridgate/v1/#');
    gw = new GatewayProcess(['run', '--config', cfg], { LNS_PW: pw.lns }).start();
    await gw.waitForLog('uplink connected');
    await waitFor('both LNS subscribed', () => gw.logs.filter((l) => l.msg === 'LNS subscribed').length === 2);
    chirpPub = await mqtt.connectAsync(chirp.url, { username: 'ns', password: pw.ns });
    ttnPub = await mqtt.connectAsync(ttn.url, { username: 'ns', password: pw.ns });
  });

  after(async () => {
    await chirpPub?.endAsync();
    await ttnPub?.endAsync();
    await gw?.kill('SIGKILL');
    await consumer?.close();
    await Promise.all([central?.stop(), chirp?.stop(), ttn?.stop()]);
  });

  const up = (devEui: string, name: string, bytes: Buffer, fPort: number) => ({ devEui, deviceName: name, fPort, fCnt: ++fCnt, bytes, at: Date.now(), rssi: -90, snr: 7.5 });

  test('a ChirpStack v4 event/up becomes telemetry of the device its DevEUI names', async () => {
    const m = chirpStackV4Up('app-1', up('24e124713b211009', 'em400-in-ns', EM400, 85));
    await chirpPub.publishAsync(m.topic, m.payload, { qos: 1 });
    const t = await consumer.waitFor('telemetry', (x) => x.deviceId === 'cover-9', 'cover-9 telemetry');
    assert.deepEqual(t.metrics.battery, { value: 92, unit: '%EL' });
    assert.deepEqual(t.metrics.water_distance, { value: 2.116, unit: 'm' });
    assert.deepEqual(t.metrics.temperature, { value: 25.7, unit: 'Cel' });
    assert.equal(t.profile, 'milesight-em400-mud');
    assertValidMessage(validators, t);
  });

  test('a ChirpStack v3 uplink (devEUI in base64, applicationID) on the same connection becomes telemetry; the log names the form', async () => {
    const v3 = {
      applicationID: '7',
      applicationName: 'covers',
      deviceName: 'em400-on-v3',
      devEUI: Buffer.from('24e124713b211009', 'hex').toString('base64'),
      rxInfo: [{ gatewayID: 'ABbAAf8QojU=', time: new Date().toISOString(), rssi: -88, loRaSNR: 6.5 }],
      txInfo: { frequency: 486300000, dr: 5 },
      adr: true,
      fCnt: ++fCnt,
      fPort: 85,
      data: Buffer.from('01755a', 'hex').toString('base64'), // battery 90
    };
    await chirpPub.publishAsync('application/7/device/24e124713b211009/event/up', JSON.stringify(v3), { qos: 1 });
    const t = await consumer.waitFor('telemetry', (x) => x.deviceId === 'cover-9' && (x.metrics.battery?.value as number) === 90, 'cover-9 telemetry from the v3 uplink');
    assertValidMessage(validators, t);
    await gw.waitForLog('LNS uplinks in ChirpStack v3 (Application Server) form', 20_000, (l) => l.lns === 'chirp' && l.format === 'chirpstack-v3');
    assert.ok(gw.logs.some((l) => l.msg === 'LNS uplinks in ChirpStack v4 form' && l.lns === 'chirp'), 'and the v4 form before it');
  });

  test('a TTN v3 uplink is decoded with the device parameters (DL-PR26 0–1 bar transducer)', async () => {
    const m = ttnV3Up('app-2', 'ttn', up('70b3d57ba0000167', 'pr26', PR26_TILT, 1));
    await ttnPub.publishAsync(m.topic, m.payload, { qos: 1 });
    const t = await consumer.waitFor('telemetry', (x) => x.deviceId === 'hydrant-9', 'hydrant-9 telemetry');
    assert.ok(Math.abs((t.metrics.pressure!.value as number) - -1171.875) < 1e-6, `pressure in Pa, got ${String(t.metrics.pressure?.value)}`);
    assert.equal(t.metrics.battery_voltage?.value, 3.199);
  });

  test('unknown DevEUI, a device on the wrong network server, garbage and MAC-only uplinks are refused or ignored, never fatal', async () => {
    const stranger = chirpStackV4Up('app-1', up('0000000000000bad', 'stranger', EM400, 85));
    await chirpPub.publishAsync(stranger.topic, stranger.payload, { qos: 1 });
    const wrongNs = ttnV3Up('app-2', 'ttn', up('24e124713b211009', 'em400-on-ttn', EM400, 85)); // bound to chirp only
    await ttnPub.publishAsync(wrongNs.topic, wrongNs.payload, { qos: 1 });
    await chirpPub.publishAsync('application/app-1/device/24e124713b211009/event/up', '{"deviceInfo": ', { qos: 1 });
    const macOnly = JSON.parse(chirpStackV4Up('app-1', up('24e124713b211009', 'x', Buffer.alloc(0), 0)).payload) as Record<string, unknown>;
    delete macOnly.data;
    await chirpPub.publishAsync('application/app-1/device/24e124713b211009/event/up', JSON.stringify(macOnly), { qos: 1 });
    const st = await waitFor('rejections counted', async () => {
      const s = (await (await fetch(`http://127.0.0.1:${apiPort}/api/v1/status`, { headers: { authorization: `Bearer ${pw.consumer}` } })).json()) as { counters: Record<string, number> };
      return (s.counters['rejected.unknown-device'] ?? 0) >= 2 && (s.counters['rejected.bad-envelope'] ?? 0) >= 1 ? s : undefined;
    });
    assert.equal(st.counters['rejected.bad-envelope'], 1, 'the MAC-only uplink is not an error');
    // still working
    const again = chirpStackV4Up('app-1', up('24e124713b211009', 'em400-in-ns', Buffer.from('017550', 'hex'), 85));
    await chirpPub.publishAsync(again.topic, again.payload, { qos: 1 });
    await consumer.waitFor('telemetry', (x) => x.deviceId === 'cover-9' && x.metrics.battery?.value === 80, 'cover-9 after bad input');
  });

  test('a network-server broker going away is one availability change for the connection', async () => {
    await chirp.stop();
    const off = await consumer.waitFor('availability', (a) => a.deviceId === 'lns-chirp' && a.state === 'offline', 'lns-chirp offline', 20_000);
    assert.match(off.reason ?? '', /unreachable/);
    await chirp.start();
    await consumer.waitFor('availability', (a) => a.deviceId === 'lns-chirp' && a.state === 'online' && a.seq > off.seq, 'lns-chirp back online', 20_000);
    assert.equal(consumer.of('availability').filter((a) => a.deviceId === 'lns-chirp' && a.state === 'offline').length, 1, 'one offline, not one per retry');
  });
});
