import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readCertificate } from 'node-opcua-crypto';
import type { CabinetSim } from '../fakes/sim/opcua-cabinet.js';
import { trustCertificate } from '../src/southbound/opcua/pki.js';
import { generatePassword } from '../src/southbound/broker/credentials.js';
import { Consumer } from './helpers/consumer.js';
import { assertValidMessage, contractValidators } from './helpers/contract.js';
import { GatewayProcess } from './helpers/gateway-process.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { freePort, sleep } from './helpers/net.js';
import { removeTempDirs, startSim, tempDir } from './helpers/opcua.js';
import { repoRoot } from './helpers/shared.js';

// End to end with real programs: the simulated cabinet server (SignAndEncrypt), a real `gridgate run`
// process, a real mosquitto as the central broker. The cabinet's values go out as canonical telemetry,
// a dead circuit raises the profile's alarm, and a server outage raises ONE alarm (the endpoint's),
// not one per device, and heals by itself when the server is back.

const GW = 'gw-opcua';
const pw = { gw: generatePassword(), consumer: generatePassword(), api: generatePassword() };

describe('OPC-UA southbound end to end (simulated cabinet, gridgate process, mosquitto)', () => {
  let central: Mosquitto;
  let sim: CabinetSim;
  let gw: GatewayProcess;
  let consumer: Consumer;
  let apiPort: number;
  const validators = contractValidators();

  before(async () => {
    central = await startMosquitto({
      users: { [GW]: pw.gw, consumer: pw.consumer },
      acl: `user ${GW}\ntopic write gridgate/v1/${GW}/#\ntopic read gridgate/v1/${GW}/cmd\n\nuser consumer\ntopic read gridgate/v1/#\n`,
    });
    sim = await startSim({ stations: 1 });
    const dir = tempDir('gg-opcua-e2e-');
    // Trusted ahead, as `gridgate opcua trust` would (tested in opcua-cli.test.ts).
    await trustCertificate(join(dir, 'state', 'opcua-pki'), readCertificate(sim.certificateFile));
    apiPort = await freePort();
    const cfg = join(dir, 'gw.yaml');
    writeFileSync(
      cfg,
      `gateway: { id: ${GW}, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { enabled: false }
uplink: { url: "${central.url}", username: ${GW}, password: "\${E2E_CENTRAL_PW}", keepaliveS: 5 }
api: { port: ${apiPort}, token: "\${E2E_API_TOKEN}" }
opcua:
  endpoints:
    - id: cabinet-07
      url: ${sim.endpointUrl}
      securityMode: SignAndEncrypt
      securityPolicy: Basic256Sha256
      offlineAlarmAfterS: 3
devices:
  - id: cab-07
    profile: opcua-lighting-cabinet
    opcua: { endpoint: cabinet-07, root: "ns=1;s=Cabinet01" }
    location: { lat: 31.2339, lon: 121.5331 }
    reportingIntervalS: 1 # its own offline rule would fire after 2.5 s of silence
    alarms: { power-lost-c2: { forS: 1, clearForS: 0 } }
  - id: pump-07
    profile: opcua-pump-station
    opcua: { endpoint: cabinet-07, vars: { station: Station01 } }
    reportingIntervalS: 1
`,
    );
    consumer = await Consumer.connect(central.url, { username: 'consumer', password: pw.consumer, protocolVersion: 5 }, 'gridgate/v1/#');
    gw = new GatewayProcess(['run', '--config', cfg], { E2E_CENTRAL_PW: pw.gw, E2E_API_TOKEN: pw.api }).start();
    await gw.waitForLog('gateway started', 60_000);
  });

  after(async () => {
    await gw?.kill('SIGKILL');
    await consumer?.close();
    await sim?.stop();
    await central?.stop();
    removeTempDirs();
  });

  test('cabinet values arrive as canonical, schema-valid telemetry filed in the cabinet grid', async () => {
    const t = await consumer.waitFor('telemetry', (m) => m.deviceId === 'cab-07' && 'circuit1_voltage' in m.metrics, 'cabinet telemetry', 30_000);
    assertValidMessage(validators, t);
    assert.equal(t.profile, 'opcua-lighting-cabinet');
    assert.equal(t.assetType, 'lighting-cabinet');
    assert.equal(t.componentCode, '0116');
    assert.deepEqual(t.location, { lat: 31.2339, lon: 121.5331 });
    assert.equal(t.metrics.circuit1_voltage!.unit, 'V');
    assert.equal(t.metrics.schedule_mode!.value, 'schedule');
    const p = await consumer.waitFor('telemetry', (m) => m.deviceId === 'pump-07' && 'water_level' in m.metrics, 'pump station telemetry');
    assert.equal(p.metrics.water_level!.unit, 'm');
    await consumer.waitFor('availability', (m) => m.deviceId === 'cabinet-07' && m.state === 'online', 'endpoint online');
    const status = (await (await fetch(`http://127.0.0.1:${apiPort}/api/v1/status`, { headers: { authorization: `Bearer ${pw.api}` } })).json()) as { sources: Array<{ id: string; kind: string; connected: boolean }> };
    assert.deepEqual(status.sources, [{ id: 'cabinet-07', kind: 'opcua', connected: true }]);
  });

  test("a dead circuit raises the profile's power-lost alarm; the supply back clears it", async () => {
    sim.failCircuit(1, 2);
    const raised = await consumer.waitFor('alarm', (m) => m.deviceId === 'cab-07' && m.rule === 'power-lost-c2' && m.state === 'raised', 'power-lost raised');
    assertValidMessage(validators, raised);
    assert.equal(raised.severity, 'critical');
    assert.equal(raised.value, 0);
    sim.failCircuit(1, 2, false);
    await consumer.waitFor('alarm', (m) => m.alarmId === raised.alarmId && m.state === 'cleared', 'power-lost cleared');
  });

  test('server down past offlineAlarmAfterS: one availability alarm for the endpoint, none per device; back: resumes, clears', async () => {
    const alarmsBefore = consumer.of('alarm').length;
    await sim.stop();
    const down = Date.now();
    const endpointOffline = await consumer.waitFor('availability', (m) => m.deviceId === 'cabinet-07' && m.state === 'offline', 'endpoint offline', 15_000);
    assert.match(endpointOffline.reason ?? '', /connection was lost|connection refused/);
    const raised = await consumer.waitFor('alarm', (m) => m.deviceId === 'cabinet-07' && m.rule === 'endpoint-offline' && m.state === 'raised', 'endpoint alarm', 20_000);
    assertValidMessage(validators, raised);
    assert.equal(raised.kind, 'offline');
    assert.equal(raised.assetType, 'lighting-cabinet');
    await consumer.waitFor('availability', (m) => m.deviceId === 'cab-07' && m.state === 'offline' && /cabinet-07 unreachable/.test(m.reason ?? ''), 'cabinet marked offline with the cause');
    // Well past the devices' own offline timeout (2.5 × 1 s): still only the endpoint's alarm.
    await sleep(Math.max(0, 7000 - (Date.now() - down)));
    const during = consumer.of('alarm').slice(alarmsBefore);
    assert.deepEqual(during.map((a) => `${a.deviceId}/${a.rule}/${a.state}`), ['cabinet-07/endpoint-offline/raised']);
    assert.equal(gw.logs.filter((l) => l.level >= 50 && /^OPC-UA endpoint cabinet-07/.test(l.msg)).length, 1, 'one error line for the outage');

    await sim.start();
    const back = Date.now();
    const t = await consumer.waitFor('telemetry', (m) => m.deviceId === 'cab-07' && Date.parse(m.ts) >= back, 'telemetry after the restart', 15_000);
    assert.ok(Date.parse(t.ts) - back < 5000, `data resumed ${Date.parse(t.ts) - back} ms after the server was back`);
    await consumer.waitFor('alarm', (m) => m.alarmId === raised.alarmId && m.state === 'cleared', 'endpoint alarm cleared');
    await consumer.waitFor('availability', (m) => m.deviceId === 'cab-07' && m.state === 'online' && Date.parse(m.ts) >= back, 'cabinet online again');
    await sleep(2000); // a storm would come right after the reconnect
    const all = consumer.of('alarm').slice(alarmsBefore);
    assert.deepEqual(all.map((a) => `${a.deviceId}/${a.rule}/${a.state}`), ['cabinet-07/endpoint-offline/raised', 'cabinet-07/endpoint-offline/cleared']);
  });
});
