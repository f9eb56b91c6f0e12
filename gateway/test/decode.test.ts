import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { builtinCodecs } from '../src/profiles/codecs/index.js';
import { decodeUplink } from '../src/pipeline/decode/decode.js';
import { Rejection, type RejectReason, type UplinkContent } from '../src/model/readings.js';
import { DeviceProfile } from '../src/profiles/schema.js';

const codecs = builtinCodecs();
const json = (v: unknown): UplinkContent => ({ kind: 'json', text: typeof v === 'string' ? v : JSON.stringify(v) });
const bytes = (h: string, fPort = 85): UplinkContent => ({ kind: 'bytes', bytes: Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex')), fPort });

function rejects(fn: () => unknown, reason: RejectReason, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Rejection, `expected a Rejection, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    assert.match(e.message, message);
    return true;
  });
}

const hydrant = DeviceProfile.parse({
  id: 'test-hydrant',
  vendor: 'Test',
  model: 'JSON',
  assetType: 'hydrant',
  componentCode: '0113',
  transport: 'mqtt-json',
  reportingIntervalS: 60,
  metrics: [
    { name: 'pressure', source: 'pressure_mpa', unit: 'Pa', scale: 1e6, min: -100000, max: 5e6 },
    { name: 'cap_open', source: 'cap_open', type: 'boolean' },
    { name: 'state', source: 'status', type: 'string' },
    { name: 'temperature', source: 'env.temp_f', unit: 'Cel', scale: 5 / 9, offset: -160 / 9 },
    { name: 'level', source: 'level_cm', unit: 'm', scale: 0.01 },
  ],
});

const em400 = DeviceProfile.parse({
  id: 'test-em400',
  vendor: 'Milesight',
  model: 'EM400-MUD',
  assetType: 'manhole-cover',
  componentCode: '0102',
  transport: 'lorawan',
  codec: 'milesight-em400-mud',
  reportingIntervalS: 1200,
  metrics: [
    { name: 'battery', source: 'battery', unit: '%EL', min: 0, max: 100 },
    { name: 'water_distance', source: 'distance', unit: 'm', scale: 0.001 },
    { name: 'cover_open', source: 'position', type: 'boolean', map: { tilt: true, normal: false } },
  ],
});

describe('decodeUplink: the three content kinds', () => {
  test('bytes run the profile codec, then map, scale and type-check', () => {
    const d = decodeUplink(em400, codecs, bytes('01755c 03670101 04824408 050001'));
    assert.deepEqual(d.raw, { battery: 92, temperature: 25.7, distance: 2116, position: 'tilt' });
    assert.deepEqual(d.metrics, {
      battery: { value: 92, unit: '%EL' },
      water_distance: { value: 2.116, unit: 'm' },
      cover_open: { value: true },
    });
  });

  test('json is parsed; unknown fields stay in raw but make no metric', () => {
    const d = decodeUplink(hydrant, codecs, json({ pressure_mpa: 0.32, cap_open: false, rssi: -80 }));
    assert.deepEqual(d.raw, { pressure_mpa: 0.32, cap_open: false, rssi: -80 });
    assert.deepEqual(d.metrics, { pressure: { value: 320000, unit: 'Pa' }, cap_open: { value: false } });
  });

  test('values are taken as they are', () => {
    const d = decodeUplink(hydrant, codecs, { kind: 'values', values: { cap_open: true, status: 'ok' } });
    assert.deepEqual(d.metrics, { cap_open: { value: true }, state: { value: 'ok' } });
  });
});

describe('decodeUplink: mapping', () => {
  test('scale and offset (°F → °C) through a dot path', () => {
    const d = decodeUplink(hydrant, codecs, json({ env: { temp_f: 212 } }));
    assert.deepEqual(d.metrics.temperature, { value: 100, unit: 'Cel' });
  });

  test('scaling leaves no binary noise (57 cm × 0.01 = 0.57 m)', () => {
    assert.equal(decodeUplink(hydrant, codecs, json({ level_cm: 57 })).metrics.level?.value, 0.57);
  });

  test('enum map turns vendor texts into canonical values', () => {
    assert.equal(decodeUplink(em400, codecs, bytes('050000')).metrics.cover_open?.value, false);
    assert.equal(decodeUplink(em400, codecs, { kind: 'values', values: { position: 'tilt' } }).metrics.cover_open?.value, true);
  });

  test('partial payloads give only the metrics present; null counts as absent', () => {
    const d = decodeUplink(hydrant, codecs, json({ cap_open: true, pressure_mpa: null, env: {} }));
    assert.deepEqual(Object.keys(d.metrics), ['cap_open']);
    assert.deepEqual(Object.keys(decodeUplink(em400, codecs, bytes('01755c')).metrics), ['battery']);
  });

  test('a dot path through a non-object is absent, not an error', () => {
    const d = decodeUplink(hydrant, codecs, json({ env: 'hot', cap_open: false }));
    assert.equal(d.metrics.temperature, undefined);
  });

  test('inherited properties are not fields', () => {
    rejects(() => decodeUplink(hydrant, codecs, json({ env: { toString: 1 } })), 'no-metrics', /none of the fields/);
  });

  test('device params override the profile params for the codec (DL-PR26 range)', () => {
    const pr26 = DeviceProfile.parse({
      id: 'test-pr26', vendor: 'Decentlab', model: 'DL-PR26', assetType: 'hydrant', componentCode: '0113', transport: 'lorawan',
      codec: 'decentlab-dl-pr26', reportingIntervalS: 600, params: { pmin_bar: 0, pmax_bar: 10 },
      metrics: [{ name: 'pressure', source: 'pressure', unit: 'Pa', scale: 1e5 }],
    });
    const payload = bytes('02016700033e8060170c7f', 1);
    assert.equal(decodeUplink(pr26, codecs, payload).metrics.pressure?.value, -11718.75);
    assert.equal(decodeUplink(pr26, codecs, payload, { pmax_bar: 1 }).metrics.pressure?.value, -1171.875);
  });
});

describe('decodeUplink: every reject reason', () => {
  test('malformed-json: not JSON, naming the parse error', () => {
    rejects(() => decodeUplink(hydrant, codecs, json('{"pressure_mpa": 0.3,')), 'malformed-json', /payload is not valid JSON: .+/);
  });

  test('malformed-json: JSON but not an object', () => {
    rejects(() => decodeUplink(hydrant, codecs, json('[0.3, false]')), 'malformed-json', /must be a JSON object .*got a list/);
    rejects(() => decodeUplink(hydrant, codecs, json('null')), 'malformed-json', /got null/);
    rejects(() => decodeUplink(hydrant, codecs, json('0.3')), 'malformed-json', /got a number/);
  });

  test('wrong-type names the field, what it got and what it needs', () => {
    rejects(() => decodeUplink(hydrant, codecs, json({ pressure_mpa: '0.3' })), 'wrong-type', /field "pressure_mpa" \(metric pressure\) is a string \("0.3"\); expected a number/);
    rejects(() => decodeUplink(hydrant, codecs, json({ cap_open: 1 })), 'wrong-type', /field "cap_open" is a number \(1\); expected a boolean/);
    rejects(() => decodeUplink(hydrant, codecs, json({ status: { code: 3 } })), 'wrong-type', /field "status" \(metric state\) is an object .*expected a string/);
    rejects(() => decodeUplink(em400, codecs, { kind: 'values', values: { position: ['tilt'] } }), 'wrong-type', /field "position" \(metric cover_open\) is a list; expected one of tilt, normal/);
  });

  test('non-finite: 1e400 in JSON is Infinity', () => {
    rejects(() => decodeUplink(hydrant, codecs, json('{"pressure_mpa": 1e400}')), 'non-finite', /field "pressure_mpa" \(metric pressure\) is Infinity, not a finite number/);
  });

  test('non-finite: NaN values and overflow when scaling', () => {
    rejects(() => decodeUplink(hydrant, codecs, { kind: 'values', values: { level_cm: NaN } }), 'non-finite', /is NaN/);
    rejects(() => decodeUplink(hydrant, codecs, json({ pressure_mpa: 1e303 })), 'non-finite', /overflows when scaled/);
  });

  test('out-of-range names the value, the raw value and the range', () => {
    rejects(
      () => decodeUplink(hydrant, codecs, json({ pressure_mpa: 6 })),
      'out-of-range',
      /field "pressure_mpa" \(metric pressure\) gives pressure = 6000000 Pa \(raw 6\), outside the plausible range -100000…5000000 Pa/,
    );
    rejects(() => decodeUplink(em400, codecs, bytes('0175c8')), 'out-of-range', /battery = 200 %EL, outside the plausible range 0…100 %EL/);
  });

  test('out-of-range: an enum value the profile does not know', () => {
    rejects(() => decodeUplink(em400, codecs, bytes('050002')), 'out-of-range', /field "position" \(metric cover_open\) is "unknown", which the profile does not know; expected one of tilt, normal/);
  });

  test('codec-mismatch: bytes that do not fit the codec, with the payload in hex', () => {
    rejects(() => decodeUplink(em400, codecs, bytes('01755c 0999')), 'codec-mismatch', /payload does not match device profile test-em400 \(fPort 85, 5 bytes 01755c0999\): milesight-em400-mud: byte 3: unknown channel 0x09 type 0x99/);
    rejects(() => decodeUplink(em400, codecs, bytes('01755c', 2)), 'codec-mismatch', /fPort 2: the EM400-MUD sends its reports on fPort 85/);
  });

  test('codec-mismatch: no codec for bytes', () => {
    rejects(() => decodeUplink(hydrant, codecs, bytes('0102')), 'codec-mismatch', /test-hydrant has no binary codec; it expects JSON/);
    rejects(() => decodeUplink(em400, new Map(), bytes('01755c')), 'codec-mismatch', /names codec "milesight-em400-mud", which this gateway does not have/);
  });

  test('codec-mismatch: a codec bug becomes a rejection too, never a crash', () => {
    const broken = new Map([['milesight-em400-mud', { id: 'milesight-em400-mud', decode: (): never => { throw new TypeError('oops'); } }]]);
    rejects(() => decodeUplink(em400, broken, bytes('01755c')), 'codec-mismatch', /decoder failed: oops/);
  });

  test('no-metrics lists what the profile reads and what came', () => {
    rejects(() => decodeUplink(hydrant, codecs, json({ rssi: -80, snr: 7 })), 'no-metrics', /none of the fields device profile test-hydrant reads \(pressure_mpa, cap_open, status, env.temp_f, level_cm\) is in the payload; it has rssi, snr/);
    rejects(() => decodeUplink(hydrant, codecs, json({})), 'no-metrics', /it has no fields/);
    // A Milesight power-on report carries device information only.
    rejects(() => decodeUplink(em400, codecs, bytes('ff0bff ff0101')), 'no-metrics', /it has device_status, ipso_version/);
  });
});

test('the same profile object decodes consistently (plans are cached per object)', () => {
  for (let n = 0; n < 3; n++) assert.equal(decodeUplink(hydrant, codecs, json({ pressure_mpa: 0.3 })).metrics.pressure?.value, 300000);
  const other = DeviceProfile.parse({ ...hydrant, metrics: [{ name: 'pressure', source: 'p_kpa', unit: 'Pa', scale: 1000 }] });
  assert.equal(decodeUplink(other, codecs, json({ p_kpa: 300 })).metrics.pressure?.value, 300000);
});

describe('decodeUplink: a bad field costs only itself', () => {
  test('the good fields are kept and the bad one is reported with its reason', () => {
    const out = decodeUplink(hydrant, codecs, json('{"pressure_mpa": 0.3, "cap_open": "yes", "level_cm": 1e400}'));
    assert.deepEqual(Object.keys(out.metrics), ['pressure']);
    assert.deepEqual(out.problems.map((p) => p.reason).sort(), ['non-finite', 'wrong-type']);
    assert.match(out.problems.find((p) => p.reason === 'wrong-type')!.message, /field "cap_open"/);
  });
  test('when no field survives, the message is rejected with the first field problem', () => {
    rejects(() => decodeUplink(hydrant, codecs, json('{"cap_open": "yes", "level_cm": 1e400}')), 'wrong-type', /cap_open/);
  });
});
