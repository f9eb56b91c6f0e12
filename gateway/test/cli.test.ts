import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ttnV3Up } from '../fakes/sim/lns-messages.js';
import { runCli, GatewayProcess } from './helpers/gateway-process.js';
import { startMosquitto } from './helpers/mosquitto.js';
import { Consumer } from './helpers/consumer.js';
import { freePort, waitFor } from './helpers/net.js';
import { repoRoot } from './helpers/shared.js';

test('gridgate decode --hex prints raw (vendor names) and metrics (canonical, SI)', async () => {
  const r = await runCli(['decode', '--profile', 'milesight-em500-pp', '--hex', '01 75 5C 03 7b 0a 00', '--fport', '85']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { raw: Record<string, unknown>; metrics: Record<string, { value: unknown; unit?: string }> };
  assert.deepEqual(out.raw, { battery: 92, pressure: 10 });
  assert.deepEqual(out.metrics.pressure, { value: 10000, unit: 'Pa' });
  assert.deepEqual(out.metrics.battery, { value: 92, unit: '%EL' });
});

test('gridgate decode --file takes a network server message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gg-cli-'));
  const file = join(dir, 'up.json');
  const m = ttnV3Up('app', 'ttn', { devEui: '24e124126b211004', deviceName: 'pp', fPort: 85, fCnt: 3, bytes: Buffer.from('0175640037b0a00'.slice(0, 0) + '017564037b0a00', 'hex'), at: Date.now(), rssi: -80, snr: 9 });
  writeFileSync(file, m.payload);
  const r = await runCli(['decode', '--profile', 'milesight-em500-pp', '--file', file]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { devEui: string; raw: Record<string, unknown> };
  assert.equal(out.devEui, '24e124126b211004');
  assert.deepEqual(out.raw, { battery: 100, pressure: 10 });
});

test("gridgate decode --param: a device's own profile parameters (the vendor's DL-PR26 example is a 0–1 bar transducer)", async () => {
  const hex = ['--hex', '02 01 67 00 03 3e 80 60 17 0c 7f', '--fport', '1'];
  const [byDefault, ranged, unknown] = await Promise.all([
    runCli(['decode', '--profile', 'decentlab-dl-pr26', ...hex]),
    runCli(['decode', '--profile', 'decentlab-dl-pr26', ...hex, '--param', 'pmax_bar=1', '--param', 'pmin_bar=0']),
    runCli(['decode', '--profile', 'decentlab-dl-pr26', ...hex, '--param', 'pmax=1']),
  ]);
  assert.equal(byDefault.code, 0, byDefault.stderr);
  assert.equal((JSON.parse(byDefault.stdout) as { raw: { pressure: number } }).raw.pressure, -0.1171875, 'the profile default: 0–10 bar');
  assert.equal(ranged.code, 0, ranged.stderr);
  const out = JSON.parse(ranged.stdout) as { params: Record<string, unknown>; raw: { pressure: number } };
  assert.deepEqual(out.params, { pmin_bar: 0, pmax_bar: 1 });
  assert.equal(out.raw.pressure, -0.01171875, "the vendor's expected value for its 0–1 bar example");
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /--param pmax: profile decentlab-dl-pr26 has no parameter "pmax" \(it has: pmin_bar=0, pmax_bar=10\)/);
});

test('gridgate decode --file takes a ChirpStack v3 uplink and says which form it was', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gg-cli-'));
  const file = join(dir, 'v3.json');
  writeFileSync(file, JSON.stringify({ applicationID: '123', deviceName: 'pp', devEUI: '24e124126b211004', fPort: 85, data: Buffer.from('017564037b0a00', 'hex').toString('base64'), rxInfo: [{ rssi: -70, loRaSNR: 8 }] }));
  const r = await runCli(['decode', '--profile', 'milesight-em500-pp', '--file', file]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { format: string; devEui: string; raw: Record<string, unknown> };
  assert.deepEqual([out.format, out.devEui], ['chirpstack-v3', '24e124126b211004']);
  assert.deepEqual(out.raw, { battery: 100, pressure: 10 });
});

test('gridgate decode explains bad input without a stack trace', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['decode', '--profile', 'nope', '--hex', '00', '--fport', '85'], /unknown profile "nope" \(known: .*milesight-em500-pp/],
    [['decode', '--profile', 'milesight-em500-pp', '--hex', '0g', '--fport', '85'], /not a whole number of hex bytes/],
    [['decode', '--profile', 'milesight-em500-pp', '--hex', '01'], /--fport is needed/],
    [['decode', '--profile', 'milesight-em500-pp', '--hex', '0175', '--fport', '85'], /codec-mismatch: .*truncated/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('gridgate simulate drives a running gateway with derived device passwords', async () => {
  const central = await startMosquitto();
  const consumer = await Consumer.connect(central.url, {}, 'gridgate/v1/#');
  const dir = mkdtempSync(join(tmpdir(), 'gg-sim-'));
  const cfg = join(dir, 'gw.yaml');
  const brokerPort = await freePort();
  writeFileSync(
    cfg,
    `gateway: { id: gw-sim, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { port: ${brokerPort}, deviceKeySecret: "\${SIM_SECRET}" }
uplink: { url: "${central.url}" }
api: { enabled: false }
devices:
  - { id: c1, profile: generic-json-manhole-cover }
  - { id: h1, profile: generic-json-hydrant }
  - { id: l1, profile: generic-json-street-light }
`,
  );
  const env = { SIM_SECRET: randomBytes(24).toString('base64url') };
  const gw = new GatewayProcess(['run', '--config', cfg], env).start();
  try {
    await gw.waitForLog('uplink connected');
    const sim = await runCli(['simulate', '--config', cfg, '--devices', '3', '--interval', '0.5', '--duration', '3', '--faults', 'none'], env);
    assert.equal(sim.code, 0, sim.stderr);
    assert.match(sim.stdout, /published \d+ message/);
    await waitFor('telemetry from all three', () => ['c1', 'h1', 'l1'].every((id) => consumer.of('telemetry').some((t) => t.deviceId === id)));
    const tooMany = await runCli(['simulate', '--config', cfg, '--devices', '9', '--duration', '1'], env);
    assert.notEqual(tooMany.code, 0);
    assert.match(tooMany.stderr, /lists 3 device\(s\); --devices 9/);
  } finally {
    await gw.kill('SIGKILL');
    await consumer.close();
    await central.stop();
  }
});
