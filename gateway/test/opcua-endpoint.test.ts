import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readCertificate } from 'node-opcua-crypto';
import type { CabinetSim } from '../fakes/sim/opcua-cabinet.js';
import { OpcuaEndpoint } from '../src/southbound/opcua/endpoint.js';
import { ensureOwnCertificate, trustCertificate } from '../src/southbound/opcua/pki.js';
import { freePort, sleep, waitFor } from './helpers/net.js';
import { captureLog, endpointYaml, planFor, Recorder, removeTempDirs, startSim, tempPki, type LogLine } from './helpers/opcua.js';

// The connector against a real node-opcua server (the simulated cabinet) on loopback: subscriptions,
// polling, security and user identities, every fault the issue names, and a server restart.

const CABINET = `  - { id: cab-01, profile: opcua-lighting-cabinet, opcua: { endpoint: ep, root: "ns=1;s=Cabinet01" } }`;
const STATION = `  - { id: pump-01, profile: opcua-pump-station, opcua: { endpoint: ep, vars: { station: Station01 } } }`;

const endpoints: OpcuaEndpoint[] = [];
const sims: CabinetSim[] = [];
after(async () => {
  await Promise.all(endpoints.map((e) => e.stop()));
  await Promise.all(sims.map((s) => s.stop()));
  removeTempDirs();
});

function run(plan: ReturnType<typeof planFor>['plan'], rec: Recorder, pki: string, log: ReturnType<typeof captureLog>['log']): OpcuaEndpoint {
  const e = new OpcuaEndpoint(plan, rec.deps(pki, log));
  endpoints.push(e);
  e.start();
  return e;
}

const errorsOf = (lines: LogLine[]) => lines.filter((l) => l.level >= 50).map((l) => l.msg);

describe('an open lab server (every security mode, users, user certificates)', () => {
  let sim: CabinetSim;
  // Tests that do not exercise trust share one certificate store (creating a key pair costs seconds on a busy box).
  const shared = tempPki();
  before(async () => {
    sim = await startSim({ stations: 1, users: { operator: 'right-pw' }, acceptUserCertificates: true, securityPolicies: ['None', 'Basic256Sha256', 'Aes256_Sha256_RsaPss'] });
    sims.push(sim);
  });

  test('subscriptions: each publish becomes one uplink per device, keyed by metric source, with the source timestamp', async () => {
    const { log } = captureLog();
    const rec = new Recorder();
    const { plan } = planFor(endpointYaml(sim.endpointUrl, 'securityMode: None'), `${CABINET}\n${STATION}`);
    const e = run(plan, rec, shared, log);
    await waitFor('cabinet and station values', () => rec.valuesOf('cab-01', 'circuit2_current').length >= 2 && rec.valuesOf('pump-01', 'wet_well_level').length > 0);
    assert.equal(e.status().mode, 'subscribe');
    assert.deepEqual(e.aliveDevices().sort(), ['cab-01', 'pump-01']);
    assert.deepEqual(rec.availability.map((a) => a.up), [true]);
    const first = rec.uplinks.find((u) => u.deviceId === 'cab-01')!;
    assert.equal(first.source, 'opcua:ep');
    const fields = Object.keys((first.content as { values: object }).values);
    assert.ok(fields.length >= 10, `the initial values of the cabinet arrive together (got ${fields.join(', ')})`);
    assert.ok(first.observedAt! <= first.receivedAt && first.receivedAt - first.observedAt! < 5000, 'observedAt is the server source timestamp');
    assert.equal(rec.valuesOf('pump-01', 'pump1_fault')[0], false);

    sim.failCircuit(1, 2);
    await waitFor('circuit 2 current drops to 0', () => rec.valuesOf('cab-01', 'circuit2_current').includes(0));
    sim.failCircuit(1, 2, false);
    assert.equal(rec.rejects.length, 0, JSON.stringify(rec.rejects));
    await e.stop();
  });

  test('a node that does not exist and a value of the wrong type: one clear error each; the other values flow', async () => {
    const { log, lines } = captureLog();
    const rec = new Recorder();
    const profile = `id: test-odd-cabinet
vendor: Test
model: odd
assetType: lighting-cabinet
componentCode: "0116"
transport: opcua
reportingIntervalS: 60
metrics:
  - { name: voltage, source: v, unit: V }
  - { name: ghost, source: ghost }
  - { name: label_number, source: label }
  - { name: current, source: i, unit: A }
alarms:
  - { id: offline, kind: offline, title: { zh: 离线, en: Offline } }
opcua:
  nodes:
    v: { nodeId: "ns=1;s=Cabinet01.Circuit1.Voltage" }
    ghost: { nodeId: "ns=1;s=Cabinet01.NoSuchNode" }
    label: { browsePath: /1:Cabinet01/1:Label }
    i: { nodeId: "nsu=urn:gridgate:sim:street-assets;s=Cabinet01.Circuit1.Current" }
`;
    const { plan } = planFor(endpointYaml(sim.endpointUrl, 'securityMode: None'), '  - { id: odd-01, profile: test-odd-cabinet, opcua: { endpoint: ep } }', { 'test-odd-cabinet': profile });
    const e = run(plan, rec, shared, log);
    await waitFor('voltage values, and current by namespace URI', () => rec.valuesOf('odd-01', 'v').length >= 2 && rec.valuesOf('odd-01', 'i').length > 0);
    await waitFor('the wrong type refused', () => rec.rejects.length > 0);
    const errors = errorsOf(lines);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /^OPC-UA endpoint ep, device odd-01, metric ghost: node ns=1;s=Cabinet01\.NoSuchNode does not exist on the server \(BadNodeIdUnknown\); its other values are read$/);
    const r = rec.rejects[0]!;
    assert.equal(r.deviceId, 'odd-01');
    assert.equal(r.reason, 'wrong-type');
    assert.match(r.detail, /^OPC-UA endpoint ep, node Objects\/1:Cabinet01\/1:Label \(metric label_number\): value is a String \("Cabinet01 \(simulated\)"\); the profile expects a number$/);
    assert.equal(rec.valuesOf('odd-01', 'label').length, 0);
    assert.deepEqual(e.status().items, { total: 4, ok: 3, failed: 1 });
    assert.ok(e.healthy, 'the endpoint itself is fine');
    await e.stop();
  });

  test('SignAndEncrypt: the server certificate is refused until trusted, never silently; then data flows without a restart', async () => {
    const { log, lines } = captureLog();
    const rec = new Recorder();
    const pki = tempPki();
    const { plan } = planFor(endpointYaml(sim.endpointUrl, 'securityMode: SignAndEncrypt\nsecurityPolicy: Basic256Sha256'), CABINET);
    const e = run(plan, rec, pki, log);
    await waitFor('a refusal', () => errorsOf(lines).length > 0);
    assert.match(errorsOf(lines)[0]!, /^OPC-UA endpoint ep \(opc\.tcp:\/\/127\.0\.0\.1:\d+\): the server's certificate is not trusted by this gateway \(it was put in the PKI rejected folder\): check its thumbprint and trust it with `gridgate opcua trust/);
    assert.equal(rec.uplinks.length, 0);
    assert.deepEqual(rec.availability.map((a) => a.up), [false]);
    await waitFor('several attempts', () => e.status().attempts >= 3);
    assert.equal(errorsOf(lines).length, 1, 'the same cause is logged once, not per attempt');
    const rejected = readdirSync(join(pki, 'rejected'));
    assert.equal(rejected.length, 1, 'the certificate waits in rejected/');
    await trustCertificate(pki, readCertificate(join(pki, 'rejected', rejected[0]!)));
    await waitFor('values after trusting', () => rec.valuesOf('cab-01', 'circuit1_voltage').length > 0, 15_000);
    assert.deepEqual(rec.availability.map((a) => a.up), [false, true]);
    assert.ok(lines.some((l) => l.msg === 'OPC-UA endpoint reconnected' && l.after === 'server-cert-untrusted'));
    await e.stop();
  });

  test('Sign and Aes256_Sha256_RsaPss; user name + password; X.509 user certificate', async () => {
    const pki = tempPki();
    await trustCertificate(pki, readCertificate(sim.certificateFile));
    const userPki = tempPki();
    const user = await ensureOwnCertificate(userPki, 'operator-7', 'urn:gridgate:test:operator-7');
    const variants = [
      'securityMode: Sign\nsecurityPolicy: Basic256Sha256\nuser: { kind: password, username: operator, password: right-pw }',
      'securityMode: SignAndEncrypt\nsecurityPolicy: Aes256_Sha256_RsaPss',
      `securityMode: SignAndEncrypt\nsecurityPolicy: Basic256Sha256\nuser: { kind: certificate, certificate: ${user.file}, privateKey: ${user.keyFile} }`,
    ];
    // Side by side: three sessions with different security and identities on one server.
    await Promise.all(
      variants.map(async (v) => {
        const { log, lines } = captureLog();
        const rec = new Recorder();
        const { plan } = planFor(endpointYaml(sim.endpointUrl, v), CABINET);
        const e = run(plan, rec, pki, log);
        await waitFor(`values with ${v.split('\n').join(', ')} (errors: ${errorsOf(lines).join('; ')})`, () => rec.valuesOf('cab-01', 'circuit1_voltage').length > 0);
        await e.stop();
      }),
    );
  });

  test('a server without subscriptions is polled; only changes are reported', async () => {
    sim.allowSubscriptions(false);
    try {
      const { log, lines } = captureLog();
      const rec = new Recorder();
      const { plan } = planFor(endpointYaml(sim.endpointUrl, 'securityMode: None'), CABINET);
      const e = run(plan, rec, shared, log);
      await waitFor('polled values', () => rec.valuesOf('cab-01', 'circuit1_current').length >= 3);
      assert.equal(e.status().mode, 'poll');
      assert.ok(lines.some((l) => l.level === 40 && /does not accept subscriptions \(BadTooManySubscriptions\); polling instead/.test(l.msg)));
      assert.equal(rec.valuesOf('cab-01', 'circuit1_contactor').length, 1, 'an unchanged contactor is reported once');
      await e.stop();
    } finally {
      sim.allowSubscriptions(true);
    }
  });

  test('a server that refuses the gateway certificate says so, naming the certificate to install', async () => {
    sim.acceptUnknownClients(false);
    try {
      const pki = tempPki();
      await trustCertificate(pki, readCertificate(sim.certificateFile));
      const { log, lines } = captureLog();
      const rec = new Recorder();
      const { plan } = planFor(endpointYaml(sim.endpointUrl, 'securityMode: SignAndEncrypt'), CABINET);
      const e = new OpcuaEndpoint(plan, rec.deps(pki, log, { ownCertificate: join(pki, 'own/certs/client_certificate.pem') }));
      endpoints.push(e);
      e.start();
      await waitFor('a refusal', () => errorsOf(lines).length > 0);
      assert.match(errorsOf(lines)[0]!, /: the server closed the connection during the secure handshake: it most likely does not trust the gateway's certificate: trust the gateway certificate on the server \(.*client_certificate\.pem\)/);
      await e.stop();
    } finally {
      sim.acceptUnknownClients(true);
    }
  });

  test('a wrong password and a security policy the server does not offer: one clear error each, retried quietly', async () => {
    const pki = tempPki();
    await trustCertificate(pki, readCertificate(sim.certificateFile));
    const cases: Array<[string, RegExp]> = [
      ['securityMode: SignAndEncrypt\nuser: { kind: password, username: operator, password: wrong-pw }', /: the server refused the user identity \(BadUserAccessDenied\): check the user name and password/],
      ['securityMode: SignAndEncrypt\nsecurityPolicy: Aes128_Sha256_RsaOaep', /: the server offers no endpoint with security SignAndEncrypt \/ Aes128_Sha256_RsaOaep\. The server offers: .*SignAndEncrypt \/ Basic256Sha256.*\. Set securityMode and securityPolicy to one it offers/],
    ];
    await Promise.all(
      cases.map(async ([v, re]) => {
        const { log, lines } = captureLog();
        const rec = new Recorder();
        const { plan } = planFor(endpointYaml(sim.endpointUrl, v), CABINET);
        const e = run(plan, rec, pki, log);
        await waitFor(`attempts for ${v}`, () => e.status().attempts >= 3);
        assert.deepEqual(errorsOf(lines).length, 1, errorsOf(lines).join('\n'));
        assert.match(errorsOf(lines)[0]!, re);
        assert.equal(rec.uplinks.length, 0);
        await e.stop();
      }),
    );
  });

  test('server restarted mid-run: session and subscriptions are rebuilt, data resumes within 5 s of the server being back', async () => {
    const { log, lines } = captureLog();
    const rec = new Recorder();
    const { plan } = planFor(endpointYaml(sim.endpointUrl, 'securityMode: None\nreconnect: { minMs: 1000, maxMs: 30000 }'), CABINET);
    const e = run(plan, rec, shared, log);
    await waitFor('values', () => rec.uplinks.length > 0);
    await sim.stop();
    await waitFor('the loss noticed', () => !e.healthy, 10_000);
    await sleep(2500); // down long enough for a few failed attempts on the backoff
    await sim.start();
    const back = Date.now();
    const before = rec.uplinks.length;
    await waitFor('values after the restart', () => rec.uplinks.slice(before).some((u) => u.receivedAt >= back), 10_000);
    const resumedMs = rec.uplinks.slice(before).find((u) => u.receivedAt >= back)!.receivedAt - back;
    assert.ok(resumedMs < 5000, `data resumed ${resumedMs} ms after the server was back`);
    assert.deepEqual(rec.availability.map((a) => a.up), [true, false, true], 'one offline, one online');
    assert.equal(errorsOf(lines).length, 1, `one error for the outage: ${errorsOf(lines).join('\n')}`);
    assert.ok(lines.some((l) => l.msg === 'OPC-UA endpoint reconnected'));
    await e.stop();
  });
});

test('an expired server certificate is refused even when trusted', async () => {
  const sim = await startSim({ certificate: { startDaysAgo: 400, validDays: 30 } });
  sims.push(sim);
  const pki = tempPki();
  await trustCertificate(pki, readCertificate(sim.certificateFile));
  const { log, lines } = captureLog();
  const rec = new Recorder();
  const { plan } = planFor(endpointYaml(sim.endpointUrl, 'securityMode: SignAndEncrypt'), CABINET);
  const e = run(plan, rec, pki, log);
  await waitFor('a refusal', () => errorsOf(lines).length > 0);
  assert.match(errorsOf(lines)[0]!, /: the server's certificate has expired or is not valid yet \(BadCertificateTimeInvalid\): renew it on the server/);
  assert.equal(rec.uplinks.length, 0);
  await e.stop();
});

test('an unreachable host: a clear error, retries on the backoff, and stop() is prompt', async () => {
  const port = await freePort();
  const { log, lines } = captureLog();
  const rec = new Recorder();
  const { plan } = planFor(endpointYaml(`opc.tcp://127.0.0.1:${port}`, 'securityMode: None'), CABINET);
  const e = run(plan, rec, tempPki(), log);
  await waitFor('attempts', () => e.status().attempts >= 3);
  assert.deepEqual(errorsOf(lines), [`OPC-UA endpoint ep (opc.tcp://127.0.0.1:${port}): connection refused at 127.0.0.1:${port}: is the server running and the port right?`]);
  const t = Date.now();
  await e.stop();
  assert.ok(Date.now() - t < 3000, 'stop does not wait for the backoff');
  assert.equal(e.status().state, 'stopped');
});
