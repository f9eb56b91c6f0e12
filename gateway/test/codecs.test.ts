import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { CodecError, type Codec, type RawFields } from '../src/profiles/codecs/codec.js';
import { builtinCodecs, decodeBytes, encodeFields, type CodecParams } from '../src/profiles/codecs/index.js';
import { sharedFile } from './helpers/shared.js';

interface Example {
  fPort: number;
  bytes: number[];
  expect: Record<string, unknown>;
  known_defect?: string;
}
interface Vectors {
  devices: { device: string; asset: string; source: string; examples: Example[] }[];
}

const codecs = builtinCodecs();
const codec = (id: string): Codec => {
  const c = codecs.get(id);
  assert.ok(c, `no codec ${id}`);
  return c;
};
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Exact for integers and texts; a tiny relative tolerance for floats (scaling order may differ by an ulp). */
function assertValues(actual: RawFields, expected: Record<string, unknown>, where: string): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${where}: decoded fields`);
  for (const [k, want] of Object.entries(expected)) {
    const got = actual[k];
    if (typeof want === 'number' && !Number.isInteger(want)) {
      assert.equal(typeof got, 'number', `${where}: ${k}`);
      assert.ok(Math.abs((got as number) - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${where}: ${k} = ${String(got)}, expected ${want}`);
    } else {
      assert.deepEqual(got, want, `${where}: ${k}`);
    }
  }
}

/** A decode that must fail with a CodecError whose message matches. */
function assertCodecError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CodecError, `expected a CodecError, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

/**
 * Upstream example files that disagree with the vendor's decoder, keyed by the `known_defect` marker:
 * the vector's field name -> the name the vendor's decoder (and ours) really produces.
 */
const KNOWN_DEFECTS: Record<string, Record<string, string>> = {
  // vendor/milesight-iot/ws558-codec.yaml expects `power`; ws558.js (and Milesight's own decoder) write `active_power` (W).
  'milesight-ws558': { power: 'active_power' },
};

describe('vendor vectors (../shared/testdata/vendor-vectors.yaml)', () => {
  const file = sharedFile('testdata/vendor-vectors.yaml');
  if (file.skip !== undefined) {
    test('vendor vectors', { skip: file.skip }, () => {});
    return;
  }
  const vectors = parse(readFileSync(file.path, 'utf8')) as Vectors;

  test('every device in the vectors has a codec', () => {
    for (const d of vectors.devices) assert.ok(codecs.has(d.device), `no built-in codec for ${d.device}`);
  });

  for (const d of vectors.devices) {
    d.examples.forEach((ex, n) => {
      const name = `${d.device} example ${n + 1}${ex.known_defect ? ' (known upstream defect)' : ''}`;
      test(name, () => {
        const raw = codec(d.device).decode(Uint8Array.from(ex.bytes), ex.fPort);
        let expected = ex.expect;
        if (ex.known_defect) {
          const renames = KNOWN_DEFECTS[d.device];
          assert.ok(renames, `${d.device} has a new known_defect ("${ex.known_defect}"): check what the vendor decoder does and add it to KNOWN_DEFECTS`);
          expected = Object.fromEntries(Object.entries(ex.expect).map(([k, v]) => [renames[k] ?? k, v]));
          for (const vectorName of Object.keys(renames)) {
            assert.equal(raw[vectorName], undefined, `${name}: follows the vendor decoder, so there is no "${vectorName}" field`);
          }
        }
        assertValues(raw, expected, name);
      });
    });
  }

  test('WS558 known defect: the vector says power, the decoder says active_power (W)', () => {
    const raw = codec('milesight-ws558').decode(hex('048001000000'), 85);
    assert.deepEqual(raw, { active_power: 1 });
  });

  test('encode reproduces every vector byte for byte', () => {
    for (const d of vectors.devices) {
      for (const ex of d.examples) {
        const c = codec(d.device);
        const bytes = Uint8Array.from(ex.bytes);
        const again = c.encode!(c.decode(bytes, ex.fPort));
        assert.equal(toHex(again.bytes), toHex(bytes), d.device);
        assert.equal(again.fPort, ex.fPort, d.device);
      }
    }
  });
});

describe('vendor README examples (Milesight-IoT/SensorDecoders)', () => {
  test('EM400-MUD alarm channels: 8367e80001 8482410601', () => {
    const raw = codec('milesight-em400-mud').decode(hex('8367e80001 8482410601'), 85);
    assert.deepEqual(raw, { temperature: 23.2, temperature_alarm: 'threshold_alarm', distance: 1601, distance_alarm: 'threshold_alarm' });
    assert.equal(toHex(codec('milesight-em400-mud').encode!(raw).bytes), '8367e800018482410601');
  });

  test('EM310-TILT: 03CF00000000282307 (lying flat: Z at 90°, every axis past its threshold)', () => {
    const raw = codec('milesight-em310-tilt').decode(hex('03CF00000000282307'), 85);
    assert.deepEqual(raw, { angle_x: 0, angle_y: 0, angle_z: 90, threshold_x: 'trigger', threshold_y: 'trigger', threshold_z: 'trigger' });
    assert.equal(toHex(codec('milesight-em310-tilt').encode!(raw).bytes), '03cf00000000282307');
  });

  test('WS558 full report: 08310001 058164 07C90200 0374B208 068301000000 048001000000', () => {
    const raw = codec('milesight-ws558').decode(hex('08310001 058164 07C90200 0374B208 068301000000 048001000000'), 85);
    const off = Object.fromEntries([2, 3, 4, 5, 6, 7, 8].map((k) => [`switch_${k}`, 'off']));
    assertValues(raw, { voltage: 222.6, active_power: 1, power_factor: 100, total_current: 2, power_consumption: 1, switch_1: 'on', ...off }, 'WS558');
  });

  test('device information sent at power-on decodes instead of being refused', () => {
    const raw = codec('milesight-em310-tilt').decode(hex('ff0101 ff090140 ff0a0114 ff0f00 ff166136c20123456789 ff0bff fffe01 017564'), 85);
    assert.deepEqual(raw, {
      ipso_version: 'v0.1',
      hardware_version: 'v1.4',
      firmware_version: 'v1.14',
      lorawan_class: 'Class A',
      sn: '6136c20123456789',
      device_status: 'on',
      reset_event: 'reset',
      battery: 100,
    });
  });
});

describe('malformed payloads throw CodecError naming the place', () => {
  test('truncated channel data', () => {
    assertCodecError(() => codec('milesight-em400-mud').decode(hex('01755c 03670101 048244'), 85), /byte 7: channel 0x04 type 0x82 \(distance\) needs 2 data bytes, only 1 left/);
  });
  test('payload ends inside a channel header', () => {
    assertCodecError(() => codec('milesight-em500-pp').decode(hex('01755c 03'), 85), /byte 3: payload ends inside a channel header/);
  });
  test('unknown channel lists what the model sends', () => {
    assertCodecError(() => codec('milesight-em500-pp').decode(hex('01755c 0999 00'), 85), /byte 3: unknown channel 0x09 type 0x99; the EM500-PP sends: .*03 7b pressure/);
  });
  test('a channel of another model is unknown', () => {
    // 03 67 is the EM400-MUD's temperature; the EM500-PP has no such channel.
    assertCodecError(() => codec('milesight-em500-pp').decode(hex('03670101'), 85), /byte 0: unknown channel 0x03 type 0x67/);
  });
  test('wrong fPort', () => {
    assertCodecError(() => codec('milesight-em500-pp').decode(hex('01755c037b0a00'), 1), /fPort 1: the EM500-PP sends its reports on fPort 85/);
    assertCodecError(() => codec('decentlab-dl-pr26').decode(hex('02016700020c7f'), 85), /fPort 85: the DL-PR26 sends its measurements on fPort 1/);
  });
  test('empty payload', () => {
    assertCodecError(() => codec('milesight-ws558').decode(new Uint8Array(0), 85), /empty payload/);
  });
  test('Decentlab: wrong protocol version', () => {
    assertCodecError(() => codec('decentlab-dl-pr26').decode(hex('03016700020c7f'), 1), /byte 0: protocol version 3; .*protocol version 2/);
  });
  test('Decentlab: header too short', () => {
    assertCodecError(() => codec('decentlab-dl-pm').decode(hex('021b50'), 1), /3 bytes; a Decentlab v2 header needs 5/);
  });
  test('Decentlab: truncated sensor data', () => {
    assertCodecError(() => codec('decentlab-dl-pm').decode(hex('021b50000f0c25002500270027'), 1), /byte 7: sensor 1 \(particulate matter\) needs 20 bytes, only 6 left/);
  });
  test('Decentlab: flags announce a sensor the model does not have', () => {
    assertCodecError(() => codec('decentlab-dl-pr26').decode(hex('02016700040c7f'), 1), /bytes 3-4: flags 0x0004 announce sensor 2, but the DL-PR26 has only 2/);
  });
  test('Decentlab: bytes left over', () => {
    assertCodecError(() => codec('decentlab-dl-pr26').decode(hex('02016700020c7f00'), 1), /byte 7: 1 extra byte after the sensors that flags 0x0002 announce/);
  });
  test('Decentlab: bad device parameters', () => {
    assertCodecError(() => decodeBytes(codec('decentlab-dl-pr26'), hex('02016700033e8060170c7f'), 1, { pmin_bar: 5, pmax_bar: 1 }), /pmax_bar \(1\) must be above pmin_bar \(5\)/);
    assertCodecError(() => decodeBytes(codec('decentlab-dl-pr26'), hex('02016700033e8060170c7f'), 1, { pmax_bar: '10' }), /pmax_bar must be a number/);
  });

  test('random bytes never throw anything but CodecError, nor yield non-finite numbers', () => {
    let seed = 42;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
    for (const c of codecs.values()) {
      const port = c.id.startsWith('decentlab') ? 1 : 85;
      for (let n = 0; n < 3000; n++) {
        const len = Math.floor(rnd() * 24);
        const b = Uint8Array.from({ length: len }, () => Math.floor(rnd() * 256));
        if (c.id.startsWith('decentlab') && len) b[0] = 2; // reach past the version check
        try {
          const raw = c.decode(b, port);
          for (const [k, v] of Object.entries(raw)) if (typeof v === 'number') assert.ok(Number.isFinite(v), `${c.id} ${toHex(b)}: ${k} = ${v}`);
        } catch (e) {
          assert.ok(e instanceof CodecError, `${c.id} ${toHex(b)} threw ${String(e)}`);
        }
      }
    }
  });
});

describe('encode (for the simulator) round-trips realistic values', () => {
  const cases: { id: string; fields: RawFields; params?: CodecParams; tolerance?: number; bytes?: string }[] = [
    { id: 'milesight-em310-tilt', fields: { battery: 87, angle_x: -1.25, angle_y: 0.5, angle_z: 89.73, threshold_x: 'normal', threshold_y: 'trigger', threshold_z: 'normal' } },
    { id: 'milesight-em400-mud', fields: { battery: 95, temperature: -3.4, distance: 1875, position: 'normal' }, bytes: '01755f 0367deff 04825307 050000' },
    { id: 'milesight-em500-swl', fields: { battery: 77, level: 143 } },
    { id: 'milesight-em500-swl', fields: { level_error: 'collection failed' }, bytes: '0377ffff' },
    { id: 'milesight-em500-pp', fields: { battery: 90, pressure: 312, history: [{ timestamp: 1700000000, pressure: 305 }, { timestamp: 1700000600, pressure: -2 }] } },
    { id: 'milesight-ws558', fields: { voltage: 229.4, active_power: 1113, power_factor: 96, power_consumption: 1234567, total_current: 5012, switch_1: 'on', switch_2: 'off', switch_3: 'on', switch_4: 'off', switch_5: 'off', switch_6: 'off', switch_7: 'off', switch_8: 'off' } },
    { id: 'decentlab-dl-pr26', fields: { protocol_version: 2, device_id: 1234, pressure: 3.2, temperature: 12.5, battery_voltage: 3.21 }, params: { pmin_bar: 0, pmax_bar: 10 }, tolerance: 0.0005 },
    {
      id: 'decentlab-dl-pm',
      fields: {
        protocol_version: 2, device_id: 6992, battery_voltage: 3.1,
        pm1_0_mass_concentration: 42.1, pm2_5_mass_concentration: 88.3, pm4_mass_concentration: 120.4, pm10_mass_concentration: 163.9, typical_particle_size: 620,
        pm0_5_number_concentration: 210.5, pm1_0_number_concentration: 260.1, pm2_5_number_concentration: 270.3, pm4_number_concentration: 271, pm10_number_concentration: 271.2,
        air_temperature: 21.4, air_humidity: 55.2, barometric_pressure: 101320,
      },
      tolerance: 0.005,
    },
  ];
  for (const c of cases) {
    test(`${c.id}: decode(encode(x)) = x${c.bytes ? ` (${c.bytes})` : ''}`, () => {
      const enc = encodeFields(codec(c.id), c.fields, c.params)!;
      if (c.bytes) assert.equal(toHex(enc.bytes), c.bytes.replace(/\s+/g, ''));
      const raw = decodeBytes(codec(c.id), enc.bytes, enc.fPort, c.params);
      if (!c.tolerance) return assert.deepEqual(raw, c.fields);
      assert.deepEqual(Object.keys(raw).sort(), Object.keys(c.fields).sort());
      for (const [k, v] of Object.entries(c.fields)) {
        if (typeof v === 'number') assert.ok(Math.abs((raw[k] as number) - v) <= c.tolerance, `${k}: ${String(raw[k])} vs ${v}`);
        else assert.deepEqual(raw[k], v, k);
      }
    });
  }

  test('DL-PM: number concentrations no profile maps default to 0 when encoding', () => {
    const enc = codec('decentlab-dl-pm').encode!({ device_id: 1, pm1_0_mass_concentration: 1, pm2_5_mass_concentration: 2, pm4_mass_concentration: 3, pm10_mass_concentration: 4 });
    const raw = codec('decentlab-dl-pm').decode(enc.bytes, enc.fPort);
    assert.equal(raw.pm10_mass_concentration, 4);
    assert.equal(raw.pm10_number_concentration, 0);
  });

  test('WS558: relays not given are sent as off', () => {
    const raw = codec('milesight-ws558').decode(codec('milesight-ws558').encode!({ switch_1: 'on' }).bytes, 85);
    assert.equal(raw.switch_1, 'on');
    assert.equal(raw.switch_8, 'off');
  });

  test('encode refuses what the device cannot send, saying why', () => {
    assertCodecError(() => codec('milesight-em500-pp').encode!({ pressure: 10, colour: 'red' }), /has no field "colour"/);
    assertCodecError(() => codec('milesight-em500-pp').encode!({ battery: 300 }), /"battery" = 300 does not fit the u8 wire format/);
    assertCodecError(() => codec('milesight-em500-pp').encode!({ pressure: 'high' }), /"pressure" must be a finite number/);
    assertCodecError(() => codec('milesight-em310-tilt').encode!({ angle_x: 1 }), /"angle_x" is sent together with angle_y, angle_z/);
    assertCodecError(() => codec('milesight-em400-mud').encode!({ position: 'sideways' }), /"position" must be one of "normal", "tilt"/);
    assertCodecError(() => codec('milesight-em400-mud').encode!({ sn: '0123456789abcdef' }), /"sn" is reported by the EM400-MUD itself/);
    assertCodecError(() => codec('milesight-em400-mud').encode!({}), /no fields given/);
    assertCodecError(() => encodeFields(codec('decentlab-dl-pr26'), { device_id: 1, pressure: 20, temperature: 10 }, { pmin_bar: 0, pmax_bar: 10 }), /pressure = 20 is outside what the DL-PR26 can report/);
    assertCodecError(() => codec('decentlab-dl-pr26').encode!({ device_id: 1, pressure: 0.5 }), /sends pressure, temperature together; missing temperature/);
    assertCodecError(() => codec('decentlab-dl-pr26').encode!({ device_id: 70000, pressure: 0.5, temperature: 10 }), /device_id must be an integer 0…65535, got 70000/);
  });
});

test('builtinCodecs gives a fresh registry with every supported model', () => {
  const a = builtinCodecs();
  assert.notEqual(a, builtinCodecs());
  assert.deepEqual([...a.keys()].sort(), [
    'decentlab-dl-pm', 'decentlab-dl-pr26', 'milesight-em310-tilt', 'milesight-em400-mud', 'milesight-em500-pp', 'milesight-em500-swl', 'milesight-ws558',
  ]);
  for (const [id, c] of a) assert.equal(c.id, id);
});
