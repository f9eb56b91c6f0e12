import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { generatePassword, hashPassword } from '../src/southbound/broker/credentials.js';
import { makeTestPki } from './helpers/certs.js';
import { startMosquitto } from './helpers/mosquitto.js';
import { GatewayProcess } from './helpers/gateway-process.js';
import { Consumer } from './helpers/consumer.js';
import { freePort } from './helpers/net.js';
import { repoRoot } from './helpers/shared.js';

// TLS wherever traffic crosses a network: devices to the embedded broker's TLS listener, and the gateway
// to a central mosquitto that only speaks TLS and checks the gateway's password.
test('TLS: device → embedded broker (TLS only) and gateway → central mosquitto (mqtts), certificates verified', async () => {
  const pki = makeTestPki();
  const gwPw = generatePassword();
  const tlsPort = await freePort();
  const tlsCentral = await startMosquitto({
    users: { 'gw-tls': gwPw, reader: gwPw },
    port: tlsPort,
    extra: `cafile ${pki.ca}\ncertfile ${pki.cert}\nkeyfile ${pki.key}\nrequire_certificate false`,
  });
  const consumer = await Consumer.connect(`mqtts://127.0.0.1:${tlsPort}`, { username: 'reader', password: gwPw, ca: readFileSync(pki.ca) }, 'gridgate/v1/#');
  const devPw = generatePassword();
  const brokerTlsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gg-tls-'));
  const cfg = join(dir, 'gw.yaml');
  writeFileSync(
    cfg,
    `gateway: { id: gw-tls, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { plain: false, tls: { port: ${brokerTlsPort}, cert: ${pki.cert}, key: ${pki.key} } }
uplink: { url: "mqtts://localhost:${tlsPort}", username: gw-tls, password: "\${GW_PW}", tls: { ca: ${pki.ca} } }
api: { enabled: false }
devices:
  - { id: c1, profile: generic-json-manhole-cover, credentials: { passwordHash: "${await hashPassword(devPw)}" } }
`,
  );
  const gw = new GatewayProcess(['run', '--config', cfg], { GW_PW: gwPw }).start();
  try {
    await gw.waitForLog('uplink connected');
    const dev = await mqtt.connectAsync(`mqtts://127.0.0.1:${brokerTlsPort}`, { clientId: 'c1', username: 'c1', password: devPw, ca: readFileSync(pki.ca), reconnectPeriod: 0 });
    await dev.publishAsync('devices/c1/up', JSON.stringify({ tilt_deg: 2 }), { qos: 1 });
    await consumer.waitFor('telemetry', (t) => t.deviceId === 'c1', 'telemetry over TLS both ways');
    await dev.endAsync();
    await assert.rejects(
      mqtt.connectAsync(`mqtts://127.0.0.1:${brokerTlsPort}`, { username: 'c1', password: devPw, reconnectPeriod: 0, connectTimeout: 5000 }),
      /self[- ]signed|unable to verify|certificate/i,
      'a client that does not trust the CA cannot connect',
    );
  } finally {
    await gw.kill('SIGKILL');
    await consumer.close();
    await tlsCentral.stop();
  }
});

test('TLS: a gateway refuses a central broker whose certificate it cannot verify', async () => {
  const pki = makeTestPki();
  const other = makeTestPki();
  const port = await freePort();
  const central = await startMosquitto({ port, extra: `cafile ${pki.ca}\ncertfile ${pki.cert}\nkeyfile ${pki.key}` });
  const dir = mkdtempSync(join(tmpdir(), 'gg-tls-'));
  const cfg = join(dir, 'gw.yaml');
  writeFileSync(
    cfg,
    `gateway: { id: gw-tls2, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { enabled: false }
uplink: { url: "mqtts://localhost:${port}", tls: { ca: ${other.ca} } }
api: { enabled: false }
`,
  );
  const gw = new GatewayProcess(['run', '--config', cfg]).start();
  try {
    const err = await gw.waitForLog('uplink error');
    assert.match(String(err.err), /certificate|self[- ]signed|verify/i);
    assert.ok(!gw.logs.some((l) => l.msg === 'uplink connected'));
  } finally {
    await gw.kill('SIGKILL');
    await central.stop();
  }
});
