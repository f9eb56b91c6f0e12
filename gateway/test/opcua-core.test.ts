import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { AlarmEngine } from '../src/pipeline/alarms/alarm-engine.js';
import { loadConfig } from '../src/config/load.js';
import { SourceError } from '../src/util/yaml-source.js';
import { builtinCodecs } from '../src/profiles/codecs/index.js';
import { decodeUplink } from '../src/pipeline/decode/decode.js';
import { loadProfiles } from '../src/profiles/load.js';
import { DeviceProfile } from '../src/profiles/schema.js';
import { buildDevices } from '../src/runtime/devices.js';
import { draftProfile, draftYaml, metricName, senmlUnit } from '../src/southbound/opcua/draft-profile.js';
import { addEndpointDevices, ENDPOINT_OFFLINE_RULE } from '../src/southbound/opcua/endpoint-device.js';
import { describeFailure } from '../src/southbound/opcua/errors.js';
import { fillPlaceholders, normaliseBrowsePath, planEndpoints, withNamespaceIndex } from '../src/southbound/opcua/plan.js';
import { ChangeBatcher, changedEnough, convertValue, observedAt, UaType, type UaValue } from '../src/southbound/opcua/values.js';
import { removeTempDirs, tempDir } from './helpers/temp.js';
import { repoRoot } from './helpers/shared.js';

// The pure parts of the OPC-UA southbound: config and profile schema, the item plan, value conversion
// and batching, failure explanations and profile drafting. No server here (see opcua-endpoint.test.ts).

const profilesDir = join(repoRoot, 'device-profiles');
after(removeTempDirs);

function config(extra: string, devices: string): string {
  const dir = tempDir('gg-opcua-cfg-');
  const file = join(dir, 'gw.yaml');
  writeFileSync(
    file,
    `gateway: { id: gw-o, gridId: "31011500301201", location: { lat: 31.2, lon: 121.5 }, dataDir: ./state }
profiles: { dirs: [${profilesDir}] }
broker: { enabled: false }
uplink: { url: "mqtt://127.0.0.1:1" }
${extra}
devices:
${devices}`,
  );
  return file;
}

const ENDPOINT = `opcua:
  endpoints:
    - id: cab-ep
      url: opc.tcp://10.0.0.7:4840
      offlineAlarmAfterS: 20`;

describe('config', () => {
  test('an OPC-UA device binds to an endpoint; secure defaults; PKI in the data dir', () => {
    const loaded = loadConfig(config(ENDPOINT, `  - { id: cab-01, profile: opcua-lighting-cabinet, opcua: { endpoint: cab-ep, root: "ns=1;s=Cabinet01" } }\n  - { id: pump-01, profile: opcua-pump-station, opcua: { endpoint: cab-ep, vars: { station: Station01 } } }`));
    const e = loaded.config.opcua.endpoints[0]!;
    assert.equal(e.securityMode, 'SignAndEncrypt');
    assert.equal(e.securityPolicy, 'Basic256Sha256');
    assert.deepEqual(e.user, { kind: 'anonymous' });
    assert.deepEqual(e.reconnect, { minMs: 1000, maxMs: 30000 });
    assert.equal(loaded.config.opcua.pkiDir, undefined);
  });

  test('mistakes are reported at their line: unknown endpoint, missing binding, placeholder, clashing id, mode without policy', () => {
    const file = config(
      `opcua:
  endpoints:
    - id: cab-ep
      url: opc.tcp://10.0.0.7:4840
    - id: cab-01
      url: opc.tcp://10.0.0.8:4840
      securityMode: Sign
      securityPolicy: None
    - id: bad-url
      url: http://10.0.0.9`,
      `  - { id: cab-01, profile: opcua-lighting-cabinet, opcua: { endpoint: nowhere } }
  - { id: cab-02, profile: opcua-lighting-cabinet }
  - { id: pump-01, profile: opcua-pump-station, opcua: { endpoint: cab-ep } }`,
    );
    let err: SourceError | undefined;
    try {
      loadConfig(file);
    } catch (e) {
      err = e as SourceError;
    }
    assert.ok(err instanceof SourceError, 'config refused');
    const text = err.message;
    assert.match(text, /gw\.yaml:\d+: opcua\.endpoints\[2\]\.url: use opc\.tcp:\/\/host:port/);
    // The schema problems stop the load before the cross-checks; fix them and the rest is reported.
    const file2 = config(
      `opcua:
  endpoints:
    - id: cab-ep
      url: opc.tcp://10.0.0.7:4840
    - id: cab-01
      url: opc.tcp://10.0.0.8:4840
      securityMode: Sign
      securityPolicy: None`,
      `  - { id: cab-01, profile: opcua-lighting-cabinet, opcua: { endpoint: nowhere } }
  - { id: cab-02, profile: opcua-lighting-cabinet }
  - { id: pump-01, profile: opcua-pump-station, opcua: { endpoint: cab-ep } }
  - { id: cover-9, profile: generic-json-manhole-cover, opcua: { endpoint: cab-ep } }`,
    );
    let err2: SourceError | undefined;
    try {
      loadConfig(file2);
    } catch (e) {
      err2 = e as SourceError;
    }
    const t2 = err2?.message ?? '';
    assert.match(t2, /:\d+: opcua\.endpoints\[1\]\.id: "cab-01" is also a device id/);
    assert.match(t2, /gw\.yaml:\d+: opcua\.endpoints\[1\]\.securityPolicy: securityMode Sign needs a security policy/);
    assert.match(t2, /:\d+: devices\[0\]\.opcua\.endpoint: no opcua endpoint with id "nowhere" \(configured: cab-ep, cab-01\)/);
    assert.match(t2, /:\d+: devices\[1\]: profile opcua-lighting-cabinet is read over OPC-UA: give opcua\.endpoint/);
    assert.match(t2, /:\d+: devices\[2\]\.opcua: profile opcua-pump-station has node ids with placeholders: set opcua\.vars\.station/);
    assert.match(t2, /:\d+: devices\[3\]\.opcua: profile generic-json-manhole-cover is a mqtt-json device, not an OPC-UA one/);
  });
});

describe('profile schema', () => {
  const base = {
    id: 'x-cab',
    vendor: 'X',
    model: 'Y',
    assetType: 'lighting-cabinet',
    componentCode: '0116',
    transport: 'opcua',
    reportingIntervalS: 60,
    metrics: [
      { name: 'voltage', source: 'v', unit: 'V' },
      { name: 'door_open', source: 'door', type: 'boolean' },
    ],
  };
  const issues = (p: unknown) => {
    const r = DeviceProfile.safeParse(p);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  test('every metric source maps to exactly one node; deadbands only on numbers', () => {
    assert.deepEqual(issues({ ...base, opcua: { nodes: { v: { nodeId: 'ns=2;s=V' }, door: { browsePath: '/2:Door' } } } }), []);
    assert.match(issues(base).join('\n'), /opcua: an opcua profile maps each metric source to a node/);
    assert.match(issues({ ...base, opcua: { nodes: { v: { nodeId: 'ns=2;s=V' } } } }).join('\n'), /metrics\.1\.source: metric door_open reads "door", which opcua\.nodes does not map/);
    assert.match(issues({ ...base, opcua: { nodes: { v: { nodeId: 'ns=2;s=V' }, door: { nodeId: 'ns=2;s=D' }, extra: { nodeId: 'i=1' } } } }).join('\n'), /opcua\.nodes\.extra: no metric has source "extra"/);
    assert.match(issues({ ...base, opcua: { nodes: { v: { nodeId: 'ns=2;s=V' }, door: { nodeId: 'ns=2;s=D', deadband: { absolute: 1 } } } } }).join('\n'), /deadband needs a numeric metric/);
    assert.match(issues({ ...base, opcua: { nodes: { v: { nodeId: 'ns=2;s=V', browsePath: '/2:V' }, door: { nodeId: 'ns=2;s=D' } } } }).join('\n'), /give either nodeId or browsePath/);
    assert.match(issues({ ...base, opcua: { nodes: { v: { nodeId: 'Voltage' }, door: { nodeId: 'ns=2;s=D' } } } }).join('\n'), /a node id looks like/);
    assert.match(issues({ ...base, transport: 'mqtt-json', opcua: { nodes: {} } }).join('\n'), /only an opcua profile has an opcua section/);
  });

  test('the shipped lighting-cabinet and pump-station profiles load and decode OPC-UA values through the usual path', () => {
    const profiles = loadProfiles([profilesDir]);
    const cab = profiles.get('opcua-lighting-cabinet')!.profile;
    const { metrics } = decodeUplink(cab, builtinCodecs(), { kind: 'values', values: { circuit2_current: 0, circuit2_contactor: true, schedule_mode: 1, lux: 4.5 } });
    assert.deepEqual(metrics, { circuit2_current: { value: 0, unit: 'A' }, circuit2_on: { value: true }, illuminance: { value: 4.5, unit: 'lx' }, schedule_mode: { value: 'schedule' } });
    const pump = profiles.get('opcua-pump-station')!.profile;
    const m2 = decodeUplink(pump, builtinCodecs(), { kind: 'values', values: { flow_m3h: 180, wet_well_level: 2.1 } }).metrics;
    assert.equal(m2.flow!.unit, 'm3/s');
    assert.ok(Math.abs((m2.flow!.value as number) - 0.05) < 1e-9);
  });
});

describe('plan', () => {
  test('node ids fill their placeholders; browse paths follow the device root', () => {
    assert.equal(fillPlaceholders('ns=3;s="{db}"."V1"', { db: 'DB_Cab07' }), 'ns=3;s="DB_Cab07"."V1"');
    assert.throws(() => fillPlaceholders('ns=1;s={station}.Flow', {}), /needs opcua\.vars\.station/);
    assert.equal(normaliseBrowsePath('1:Circuit1/1:Voltage'), '/1:Circuit1/1:Voltage');
    assert.equal(normaliseBrowsePath('/1:Door'), '/1:Door');
    assert.equal(withNamespaceIndex('nsu=urn:plc:cab;s=Door', ['http://opcfoundation.org/UA/', 'urn:x', 'urn:plc:cab']), 'ns=2;s=Door');
    assert.equal(withNamespaceIndex('ns=3;i=7', []), 'ns=3;i=7');
    assert.throws(() => withNamespaceIndex('nsu=urn:nope;i=1', ['http://opcfoundation.org/UA/']), /namespace urn:nope is not on the server \(it has: http:\/\/opcfoundation\.org\/UA\/\)/);

    const loaded = loadConfig(config(ENDPOINT, `  - { id: cab-01, profile: opcua-lighting-cabinet, opcua: { endpoint: cab-ep, root: "ns=1;s=Cabinet01" } }\n  - { id: pump-01, profile: opcua-pump-station, opcua: { endpoint: cab-ep, vars: { station: Station01 } } }`));
    const devices = buildDevices(loaded.config, loaded.profiles);
    const [plan] = planEndpoints(loaded.config.opcua.endpoints, devices);
    assert.deepEqual(plan!.deviceIds, ['cab-01', 'pump-01']);
    const byKey = new Map(plan!.items.map((i) => [`${i.deviceId}/${i.source}`, i]));
    assert.deepEqual(byKey.get('cab-01/circuit2_current')!.target, { browsePath: '/1:Circuit2/1:Current', root: 'ns=1;s=Cabinet01' });
    assert.deepEqual(byKey.get('cab-01/circuit2_current')!.deadband, { absolute: 0.05 }, 'per-node deadband');
    assert.deepEqual(byKey.get('cab-01/circuit1_voltage')!.deadband, { absolute: 0.5 }, 'profile default deadband');
    assert.equal(byKey.get('cab-01/circuit1_contactor')!.deadband, undefined, 'no deadband on a boolean');
    assert.equal(byKey.get('cab-01/schedule_mode')!.expected, undefined, 'a mapped metric takes any scalar');
    assert.equal(byKey.get('cab-01/door_open')!.samplingIntervalMs, 250);
    assert.deepEqual(byKey.get('pump-01/flow_m3h')!.target, { nodeId: 'ns=1;s=Station01.Flow' });
    assert.equal(plan!.items.length, 15 + 6);
  });

  test('each endpoint is an alarm subject with one offline rule, filed where its first device is', () => {
    const loaded = loadConfig(config(ENDPOINT, `  - { id: cab-01, profile: opcua-lighting-cabinet, location: { lat: 31.3, lon: 121.6 }, gridId: "31011500301299", opcua: { endpoint: cab-ep } }`));
    const devices = buildDevices(loaded.config, loaded.profiles);
    addEndpointDevices(devices, loaded.config);
    const ep = devices.byId.get('cab-ep')!;
    assert.deepEqual(ep.location, { lat: 31.3, lon: 121.6 });
    assert.equal(ep.gridId, '31011500301299');
    assert.equal(ep.assetType, 'lighting-cabinet');
    assert.deepEqual(ep.rules.map((r) => [r.rule.id, r.rule.kind, r.offlineAfterS]), [[ENDPOINT_OFFLINE_RULE, 'offline', 20]]);
  });
});

describe('alarm engine: a heartbeat keeps offline rules quiet and touches nothing else', () => {
  test('alive() clears an offline alarm and leaves a threshold alarm alone', () => {
    const loaded = loadConfig(config(ENDPOINT, `  - { id: cab-01, profile: opcua-lighting-cabinet, opcua: { endpoint: cab-ep }, alarms: { power-lost-c1: { forS: 0 } } }`));
    const devices = buildDevices(loaded.config, loaded.profiles);
    const rules = new Map([...devices.byId.values()].map((d) => [d.id, d.rules]));
    const t0 = 1_000_000;
    const engine = new AlarmEngine(rules, [], t0);
    engine.sample('cab-01', { circuit1_on: { value: true }, circuit1_current: { value: 0, unit: 'A' } }, t0);
    assert.deepEqual(engine.active().map((a) => a.rule.rule.id), ['power-lost-c1']);
    const offline = engine.tick(t0 + 151_000);
    assert.deepEqual(offline.map((t) => `${t.rule.rule.id}:${t.state}`), ['offline:raised']);
    const back = engine.alive('cab-01', t0 + 152_000);
    assert.deepEqual(back.map((t) => `${t.rule.rule.id}:${t.state}`), ['offline:cleared']);
    assert.deepEqual(engine.active().map((a) => a.rule.rule.id), ['power-lost-c1'], 'the heartbeat says nothing about the circuit');
  });
});

describe('values', () => {
  const v = (dataType: number, value: unknown, extra: Partial<UaValue> = {}): UaValue => ({ dataType, isArray: false, value, status: 'good', statusText: 'Good', ...extra });

  test('scalars become field values; 64-bit integers when exact', () => {
    assert.deepEqual(convertValue(v(UaType.Double, 226.4), 'number'), { ok: true, value: 226.4 });
    assert.deepEqual(convertValue(v(UaType.Boolean, true), 'boolean'), { ok: true, value: true });
    assert.deepEqual(convertValue(v(UaType.Int32, 1), undefined), { ok: true, value: 1 });
    assert.deepEqual(convertValue(v(UaType.Int64, [0, 5]), 'number'), { ok: true, value: 5 });
    assert.deepEqual(convertValue(v(UaType.Int64, [0xffffffff, 0xfffffffe]), 'number'), { ok: true, value: -2 });
    assert.deepEqual(convertValue(v(UaType.UInt64, [0x7fffffff, 0]), 'number').ok, false);
    assert.deepEqual(convertValue(v(UaType.LocalizedText, { text: 'auto', locale: 'en' }), 'string'), { ok: true, value: 'auto' });
  });

  test('a wrong type, an array or a Bad status is refused with its reason', () => {
    assert.deepEqual(convertValue(v(UaType.String, 'n/a'), 'number'), { ok: false, reason: 'wrong-type', message: 'value is a String ("n/a"); the profile expects a number' });
    assert.equal(convertValue(v(UaType.Double, [1, 2], { isArray: true }), 'number').ok, false);
    assert.deepEqual(convertValue(v(UaType.Double, 0, { status: 'bad', statusText: 'BadSensorFailure' }), 'number'), { ok: false, reason: 'bad-status', message: 'the server reports BadSensorFailure instead of a value' });
    assert.equal((convertValue(v(UaType.Null, null), 'number') as { skip?: boolean }).skip, true);
    assert.match((convertValue(v(22, {}), 'number') as { message: string }).message, /ExtensionObject/);
  });

  test('observation time: source, else server, else arrival; a PLC without a clock does not count', () => {
    assert.equal(observedAt({ sourceTimestamp: new Date(5_000_000_000_000) }, 1), 5_000_000_000_000);
    assert.equal(observedAt({ sourceTimestamp: null, serverTimestamp: new Date(5_000_000_000_001) }, 1), 5_000_000_000_001);
    assert.equal(observedAt({ sourceTimestamp: new Date(Date.UTC(1601, 0, 1)) }, 42), 42);
  });

  test('changes of one publish are one uplink per device; a field changing twice closes the first', () => {
    const b = new ChangeBatcher('opcua:ep');
    assert.equal(b.add('a', 'v', 1, 100, 200), undefined);
    assert.equal(b.add('a', 'i', 2, 150, 200), undefined);
    assert.equal(b.add('b', 'v', 3, 90, 200), undefined);
    const closed = b.add('a', 'v', 4, 160, 201);
    assert.deepEqual(closed, { deviceId: 'a', source: 'opcua:ep', receivedAt: 201, observedAt: 150, content: { kind: 'values', values: { v: 1, i: 2 } } });
    const rest = b.flush(300);
    assert.deepEqual(rest.map((r) => [r.deviceId, r.observedAt, r.content]), [
      ['a', 160, { kind: 'values', values: { v: 4 } }],
      ['b', 90, { kind: 'values', values: { v: 3 } }],
    ]);
    assert.equal(b.size, 0);
  });

  test('polling reports like a monitored item: on change, beyond an absolute deadband', () => {
    assert.equal(changedEnough(undefined, 1), true);
    assert.equal(changedEnough(1, 1), false);
    assert.equal(changedEnough(220, 220.4, { absolute: 0.5 }), false);
    assert.equal(changedEnough(220, 220.6, { absolute: 0.5 }), true);
    assert.equal(changedEnough(true, false), true);
  });
});

describe('failures name the cause and what to do', () => {
  const ctx = { url: 'opc.tcp://10.0.0.7:4840', securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', trustHint: '`gridgate opcua trust --config site.yaml opc.tcp://10.0.0.7:4840`' };
  // Messages as node-opcua 2.180 words them (captured from real runs against the fixture server).
  const cases: Array<[string, string, RegExp]> = [
    ['The connection cannot be established with server opc.tcp://10.0.0.7:4840 .\nPlease check that the server is up and running or your network configuration.\nErr = (connect ECONNREFUSED 10.0.0.7:4840)', 'unreachable', /connection refused at 10\.0\.0\.7:4840/],
    ['server Certificate verification failed with err BadCertificateUntrusted (0x801a0000)', 'server-cert-untrusted', /not trusted by this gateway.*gridgate opcua trust --config site\.yaml/],
    ['server Certificate verification failed with err BadCertificateTimeInvalid (0x80140000)', 'server-cert-expired', /expired or is not valid yet/],
    ['Cannot find an Endpoint matching  security mode: 3 policy: http://opcfoundation.org/UA/SecurityPolicy#Aes256_Sha256_RsaPss', 'security-unsupported', /no endpoint with security SignAndEncrypt \/ Basic256Sha256/],
    ['BadUserAccessDenied (0x801f0000)', 'auth-failed', /refused the user identity.*user name and password/],
    ['BadTooManySubscriptions (0x80770000)', 'no-subscriptions', /does not accept subscriptions/],
    ['connect ETIMEDOUT 10.0.0.7:4840', 'timeout', /did not answer in time/],
    ['The connection may have been rejected by server,\n Err = (ClientTCP_transport2: socket has been disconnected by third party)', 'gateway-cert-rejected', /does not trust the gateway's certificate/],
    ['getaddrinfo ENOTFOUND cabinet-7.local', 'unreachable', /does not resolve/],
    ["Fail to connect to server at opc.tcp://10.0.0.7:4840 to collect server's certificate (in findEndpoint)", 'unreachable', /cannot connect to 10\.0\.0\.7:4840/],
  ];
  for (const [text, cause, re] of cases) {
    test(cause, () => {
      const f = describeFailure(new Error(text), ctx);
      assert.equal(f.cause, cause);
      assert.match(f.message, re);
    });
  }
  test('a security mismatch lists what the server offers', () => {
    const f = describeFailure(new Error('Cannot find an Endpoint matching  security mode: 3 policy: x'), { ...ctx, offered: ['None / None (anonymous)'] });
    assert.match(f.message, /The server offers: None \/ None \(anonymous\)\./);
  });
});

describe('profile drafts', () => {
  test('names, types and SenML units from the browsed nodes; the draft loads as a profile', () => {
    assert.equal(metricName('/1:Circuit1/1:Voltage'), 'circuit1_voltage');
    assert.equal(metricName('/2:DoorOpen'), 'door_open');
    assert.equal(metricName('/3:2ndPump'), 'm_2nd_pump');
    assert.deepEqual(senmlUnit('m³/h'), { unit: 'm3/s', scale: 1 / 3600 });
    assert.deepEqual(senmlUnit('kW'), { unit: 'W', scale: 1000 });
    assert.equal(senmlUnit('furlong'), undefined);
    const nodes = [
      { nodeId: 'ns=1;s=C.V', path: '/1:Circuit1/1:Voltage', dataType: 'Double', unit: 'V' },
      { nodeId: 'ns=1;s=C.F', path: '/1:Flow', dataType: 'Float', unit: 'm³/h' },
      { nodeId: 'ns=1;s=C.D', path: '/1:DoorOpen', dataType: 'Boolean' },
      { nodeId: 'ns=1;s=C.X', path: '/1:Blob', dataType: 'ByteString' },
      { nodeId: 'ns=1;s=C.Y', path: '/1:Odd', dataType: 'Double', unit: 'furlong' },
    ];
    const { profile, skipped } = draftProfile(nodes, { id: 'cab-x', url: 'opc.tcp://h:4840', byPath: true });
    assert.deepEqual(profile.metrics.map((m) => [m.name, m.type, m.unit, m.scale]), [
      ['circuit1_voltage', 'number', 'V', 1],
      ['flow', 'number', 'm3/s', Number((1 / 3600).toPrecision(12))],
      ['door_open', 'boolean', undefined, 1],
      ['odd', 'number', undefined, 1],
    ]);
    assert.match(profile.metrics[3]!.description!, /server unit: furlong/);
    assert.deepEqual(profile.opcua!.nodes.circuit1_voltage, { browsePath: '/1:Circuit1/1:Voltage' });
    assert.match(skipped[0]!, /ByteString/);
    const yaml = draftYaml(nodes, { id: 'cab-x', url: 'opc.tcp://h:4840', byPath: false }).text;
    const reparsed = DeviceProfile.safeParse(parse(yaml));
    assert.ok(reparsed.success, 'the YAML draft validates');
    assert.deepEqual(reparsed.data.opcua!.nodes.door_open, { nodeId: 'ns=1;s=C.D' });
    assert.throws(() => draftProfile([nodes[3]!], { id: 'cab-x', url: 'u', byPath: false }), /none of the 1 chosen node/);
  });
});
