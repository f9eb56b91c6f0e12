import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { SourceError } from '../src/util/yaml-source.js';
import { runCli } from './helpers/gateway-process.js';

const PROFILE = `id: test-cover
vendor: Test
model: T1
assetType: manhole-cover
componentCode: "0101"
transport: mqtt-json
reportingIntervalS: 60
params: { rated: 1 }
metrics:
  - { name: tilt_angle, source: tilt, unit: deg }
alarms:
  - { id: tilt, kind: threshold, metric: tilt_angle, above: 10, title: { zh: 倾斜, en: Tilt } }
`;

function workspace(config: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gg-config-'));
  mkdirSync(join(dir, 'profiles'));
  writeFileSync(join(dir, 'profiles', 'test-cover.yaml'), PROFILE);
  writeFileSync(join(dir, 'gw.yaml'), config);
  return join(dir, 'gw.yaml');
}

const GOOD = `gateway:
  id: gw-1
  gridId: "31011500301201"
  location: { lat: 31.2, lon: 121.5 }
  dataDir: ./state
profiles: { dirs: [./profiles] }
broker:
  port: \${GG_TEST_PORT:-1999}
  deviceKeySecret: "\${GG_TEST_SECRET}"
uplink:
  url: mqtts://central.example:8883
  password: \${GG_TEST_PW}
devices:
  - id: cover-1
    profile: test-cover
`;

test('a good config loads, ${ENV} secrets substituted, plain numeric references typed, paths relative to the file', () => {
  const file = workspace(GOOD);
  const { config } = loadConfig(file, { GG_TEST_SECRET: 'a-long-enough-fleet-secret', GG_TEST_PW: '123456', GG_TEST_PORT: '18999' });
  assert.equal(config.broker.port, 18999);
  assert.equal(config.broker.deviceKeySecret, 'a-long-enough-fleet-secret');
  assert.equal(config.uplink.password, '123456', 'a numeric secret stays a string');
  assert.equal(config.gateway.dataDir, join(file, '..', 'state'));
  assert.equal(config.uplink.topicPrefix, 'gridgate/v1');
});

test('every problem is listed as file:line: path: message, not just the first', () => {
  const file = workspace(`gateway:
  id: "bad id"
  gridId: "123"
uplink:
  url: http://central
  password: \${GG_TEST_MISSING}
devices:
  - id: cover-1
    profile: no-such-profile
  - id: cover-1
    profile: test-cover
    params: { nope: 1 }
`);
  assert.throws(() => loadConfig(file, {}), (e: unknown) => {
    assert.ok(e instanceof SourceError);
    const text = e.message;
    assert.match(text, new RegExp(`${file}:2: gateway\\.id: use letters`));
    assert.match(text, new RegExp(`${file}:3: gateway\\.gridId: a unit-grid ID has 14 digits`));
    assert.match(text, new RegExp(`${file}:5: uplink\\.url: use mqtt://`));
    assert.match(text, new RegExp(`${file}:6: uplink\\.password: environment variable GG_TEST_MISSING is not set`));
    assert.match(text, new RegExp(`${file}:10: devices\\[1\\]\\.id: device id "cover-1" is already used by devices\\[0\\]`));
    return true;
  });
});

test('cross-checks against profiles: unknown profile, unknown parameter, missing credentials', () => {
  const file = workspace(`gateway: { id: gw-1, gridId: "31011500301201", location: { lat: 31.2, lon: 121.5 } }
profiles: { dirs: [./profiles] }
uplink: { url: mqtt://127.0.0.1:1 }
devices:
  - id: a
    profile: no-such-profile
  - id: b
    profile: test-cover
    params: { nope: 1 }
`);
  assert.throws(() => loadConfig(file, {}), (e: unknown) => {
    const text = (e as Error).message;
    assert.match(text, /:6: devices\[0\]\.profile: unknown profile "no-such-profile" \(known: test-cover\)/);
    assert.match(text, /:9: devices\[1\]\.params\.nope: profile test-cover has no parameter "nope"/);
    assert.match(text, /:7: devices\[1\]: an MQTT device needs credentials/);
    return true;
  });
});

test('YAML syntax errors name the line', () => {
  const file = workspace('gateway:\n  id: gw\n   bad: [\n');
  assert.throws(() => loadConfig(file, {}), /gw\.yaml:\d+: \(root\): YAML:/);
});

test('gridgate config validate: exit 0 with a summary, exit 2 with every problem', async () => {
  const good = workspace(GOOD);
  const ok = await runCli(['config', 'validate', good], { GG_TEST_SECRET: 'a-long-enough-fleet-secret', GG_TEST_PW: 'x' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /OK \(gateway gw-1, 1 device\(s\), 1 profile\(s\)/);
  const bad = await runCli(['config', 'validate', good], {});
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /GG_TEST_SECRET is not set/);
  assert.match(bad.stderr, /GG_TEST_PW is not set/);
  assert.match(bad.stderr, /2 problem\(s\)/);
  assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/, 'no stack trace for a user error');
});

test('config problems all at once, each at its real line: a duplicate key, unknown keys with "did you mean", and the later checks too', async () => {
  const filler = Array.from({ length: 30 }, (_, i) => `# site note ${i + 1}`).join('\n');
  const text = `gateway:
  id: gw-1
  gridId: "31011500301201"
  location: { lat: 31.2, lon: 121.5 }
  dataDir: ./state
  zone: east
profiles: { dirs: [./profiles] }
${filler}
broker:
  prot: 1884
  port: 1999
  deviceKeySecret: "\${GG_TEST_SECRET}"
uplink:
  url: mqtts://central.example:8883
  password: \${GG_TEST_PW}
  keepaliveS: 30
  keepaliveS: 60
devices:
  - id: cover-1
    profile: test-covr
    locaton: { lat: 31.2, lon: 121.5 }
histroy:
  rawRetentionH: 24
`;
  const file = workspace(text);
  const line = (s: string, from = 0) => text.slice(0, text.indexOf(s, from)).split('\n').length;
  const dup = line('keepaliveS: 60');
  assert.ok(dup > 45, `the duplicate sits deep in the file (line ${dup})`);
  const r = await runCli(['config', 'validate', file], { GG_TEST_SECRET: 'a-long-enough-fleet-secret', GG_TEST_PW: 'x' });
  assert.equal(r.code, 2);
  const lines = r.stderr.trim().split('\n');
  const expected = [
    `${file}:${dup}: uplink.keepaliveS: YAML: Map keys must be unique (this key is already set above in the same section)`,
    `${file}:${line('zone: east')}: gateway.zone: unknown key "zone" (known here: id, name, site, dataDir, gridId, location, timezone)`,
    `${file}:${line('prot: 1884')}: broker.prot: unknown key "prot": did you mean "port"?`,
    `${file}:${line('locaton')}: devices[0].locaton: unknown key "locaton": did you mean "location"?`,
    `${file}:${line('histroy')}: histroy: unknown key "histroy": did you mean "history"?`,
    // A later stage (the profiles), reported in the same go.
    `${file}:${line('profile: test-covr')}: devices[0].profile: unknown profile "test-covr" (known: test-cover)`,
  ];
  for (const e of expected) assert.ok(lines.includes(e), `expected:\n${e}\nin:\n${r.stderr}`);
  assert.equal(lines.at(-1), `${file}: ${expected.length} problem(s)`, r.stderr);
});
