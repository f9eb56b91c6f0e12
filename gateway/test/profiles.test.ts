import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { RawFields } from '../src/profiles/codecs/codec.js';
import { builtinCodecs, encodeFields } from '../src/profiles/codecs/index.js';
import { SourceError } from '../src/util/yaml-source.js';
import { decodeUplink } from '../src/pipeline/decode/decode.js';
import type { MetricValue } from '../src/model/readings.js';
import { loadProfiles } from '../src/profiles/load.js';
import type { DeviceProfile } from '../src/profiles/schema.js';
import { repoRoot, sharedFile } from './helpers/shared.js';

const codecs = builtinCodecs();
const profiles = loadProfiles([join(repoRoot, 'device-profiles')]);
const all = [...profiles.values()].map((p) => p.profile);
const lorawan = all.filter((p) => p.transport === 'lorawan');
const profile = (id: string): DeviceProfile => {
  const p = profiles.get(id)?.profile;
  assert.ok(p, `no profile ${id}`);
  return p;
};

test('device-profiles/ loads, with the expected profiles', () => {
  assert.deepEqual([...profiles.keys()].sort(), [
    'decentlab-dl-pm', 'decentlab-dl-pr26',
    'generic-json-hydrant', 'generic-json-manhole-cover', 'generic-json-street-light',
    'milesight-em310-tilt', 'milesight-em400-mud', 'milesight-em500-pp', 'milesight-em500-swl', 'milesight-ws558',
    'opcua-lighting-cabinet', 'opcua-pump-station',
  ]);
  for (const { profile: p, file } of profiles.values()) assert.equal(file.endsWith(`${p.id}.yaml`), true, `${file} holds ${p.id}`);
});

test('every LoRaWAN profile names a built-in codec with an encoder', () => {
  for (const p of lorawan) {
    const c = codecs.get(p.codec!);
    assert.ok(c, `${p.id}: codec ${p.codec} is not built in`);
    assert.ok(c.encode, `${p.id}: codec ${p.codec} cannot encode (the simulator needs it)`);
  }
});

test('every profile has docs (LoRaWAN), bilingual rule titles and an offline rule', () => {
  for (const p of all) {
    if (p.transport === 'lorawan') assert.ok(p.docs, `${p.id}: docs`);
    assert.ok(p.alarms.some((r) => r.kind === 'offline'), `${p.id}: offline rule`);
    for (const r of p.alarms) assert.ok(r.title.zh && r.title.en, `${p.id}/${r.id}: title`);
  }
});

describe('vendor vectors decode to canonical metrics through the profiles', () => {
  const file = sharedFile('testdata/vendor-vectors.yaml');
  if (file.skip !== undefined) {
    test('vendor vectors', { skip: file.skip }, () => {});
    return;
  }
  const vectors = parse(readFileSync(file.path, 'utf8')) as { devices: { device: string; examples: { fPort: number; bytes: number[] }[] }[] };

  for (const d of vectors.devices) {
    test(`${d.device}: every example gives metrics with their units`, () => {
      const p = profile(d.device);
      for (const ex of d.examples) {
        const { metrics } = decodeUplink(p, codecs, { kind: 'bytes', bytes: Uint8Array.from(ex.bytes), fPort: ex.fPort });
        assert.ok(Object.keys(metrics).length > 0);
        for (const [name, m] of Object.entries(metrics)) {
          const spec = p.metrics.find((s) => s.name === name)!;
          assert.equal(m.unit, spec.unit, `${d.device}: ${name} unit`);
          if (spec.type === 'number') assert.ok(typeof m.value === 'number' && Number.isFinite(m.value), `${d.device}: ${name}`);
        }
      }
    });
  }

  test('canonical values of the vectors (SI units)', () => {
    const first = (id: string, params?: Record<string, unknown>): Record<string, MetricValue> => {
      const ex = vectors.devices.find((d) => d.device === id)!.examples[0]!;
      const { metrics } = decodeUplink(profile(id), codecs, { kind: 'bytes', bytes: Uint8Array.from(ex.bytes), fPort: ex.fPort }, params);
      return Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, m.value]));
    };
    assert.deepEqual(first('milesight-em400-mud'), { battery: 92, temperature: 25.7, water_distance: 2.116, cover_open: true });
    assert.deepEqual(first('milesight-em500-swl'), { battery: 92, water_level: 0.02 });
    assert.deepEqual(first('milesight-em500-pp'), { battery: 92, pressure: 10000 });
    assert.deepEqual(first('milesight-ws558'), { voltage: 222.6 });
    // The vector is the vendor's 0–1 bar part; the profile defaults to a 0–10 bar one.
    assert.deepEqual(first('decentlab-dl-pr26', { pmin_bar: 0, pmax_bar: 1 }), { pressure: -1171.875, temperature: 25.671875, battery_voltage: 3.199 });
    const pm = first('decentlab-dl-pm');
    assert.equal(pm.pm10, 3.9);
    assert.equal(pm.air_pressure, 96800);
  });
});

// ---- simulation ----

type SimValue = number | boolean | string | [number, number];
const pick = (v: SimValue, end: 0 | 1): MetricValue => (Array.isArray(v) ? v[end] : v);

/** Canonical values back to the vendor's raw fields (the inverse of the profile's mapping). */
function toRaw(p: DeviceProfile, values: Record<string, MetricValue>): RawFields {
  const raw: RawFields = {};
  for (const s of p.metrics) {
    const v = values[s.name];
    if (v === undefined) continue;
    const r = s.map ? Object.entries(s.map).find(([, c]) => c === v)?.[0] : typeof v === 'number' ? (v - s.offset) / s.scale : v;
    assert.notEqual(r, undefined, `${p.id}: ${s.name} = ${String(v)} has no raw value in the map`);
    const path = s.source.split('.');
    let o = raw;
    for (const k of path.slice(0, -1)) o = (o[k] ??= {}) as RawFields;
    o[path[path.length - 1]!] = r;
  }
  return raw;
}

describe('simulation scenarios', () => {
  for (const p of all) {
    test(`${p.id}: normal covers every metric; faults use only defined metrics; values fit type and range`, () => {
      assert.ok(p.simulation, `${p.id} has no simulation section`);
      const specs = new Map(p.metrics.map((m) => [m.name, m]));
      assert.deepEqual(Object.keys(p.simulation.normal).sort(), [...specs.keys()].sort(), `${p.id}: simulation.normal`);
      assert.ok(Object.keys(p.simulation.faults).length > 0, `${p.id}: named faults`);
      for (const [scenario, values] of [['normal', p.simulation.normal], ...Object.entries(p.simulation.faults)] as const) {
        for (const [name, v] of Object.entries(values)) {
          const s = specs.get(name);
          assert.ok(s, `${p.id} ${scenario}: ${name} is not a metric of the profile`);
          for (const x of Array.isArray(v) ? v : [v]) {
            assert.equal(typeof x, s.type, `${p.id} ${scenario}: ${name}`);
            if (typeof x === 'number') assert.ok(x >= (s.min ?? -Infinity) && x <= (s.max ?? Infinity), `${p.id} ${scenario}: ${name} = ${x} outside ${s.min}…${s.max}`);
          }
          if (Array.isArray(v)) assert.ok(v[0] <= v[1], `${p.id} ${scenario}: ${name} range`);
        }
      }
    });
  }

  for (const p of lorawan) {
    test(`${p.id}: every scenario encodes with the codec and decodes back to the same metrics`, () => {
      const codec = codecs.get(p.codec!)!;
      for (const [scenario, fault] of [['normal', {}], ...Object.entries(p.simulation!.faults)] as const) {
        for (const end of [0, 1] as const) {
          const want = Object.fromEntries(Object.entries({ ...p.simulation!.normal, ...fault }).map(([k, v]) => [k, pick(v, end)]));
          const enc = encodeFields(codec, toRaw(p, want), p.params)!;
          const { metrics } = decodeUplink(p, codecs, { kind: 'bytes', bytes: enc.bytes, fPort: enc.fPort });
          for (const [k, v] of Object.entries(want)) {
            const got = metrics[k]?.value;
            if (typeof v === 'number') assert.ok(typeof got === 'number' && Math.abs(got - v) <= 0.005 + 2e-4 * Math.abs(v), `${p.id} ${scenario}: ${k} = ${String(got)}, sent ${v}`);
            else assert.equal(got, v, `${p.id} ${scenario}: ${k}`);
          }
        }
      }
    });
  }

  test('generic JSON profiles: the documented example payload decodes completely', () => {
    for (const p of all.filter((x) => x.transport === 'mqtt-json')) {
      const example = /\{"[^\n]*(?:\n\s+"[^\n]*)*\}/.exec(p.description ?? '')?.[0];
      assert.ok(example, `${p.id}: the description shows an example payload`);
      const { metrics } = decodeUplink(p, codecs, { kind: 'json', text: example.replace(/\n\s+/g, ' ') });
      assert.deepEqual(Object.keys(metrics).sort(), p.metrics.map((m) => m.name).sort(), `${p.id}: example covers every metric`);
    }
  });
});

describe('a broken profile is reported as file:line: path: message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gridgate-profiles-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const problemsOf = (files: Record<string, string>): string[] => {
    const sub = mkdtempSync(join(dir, 'case-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(sub, name), text);
    try {
      loadProfiles([sub]);
    } catch (e) {
      assert.ok(e instanceof SourceError, String(e));
      const lines = e.message.split('\n');
      for (const l of lines) assert.match(l, /^.+\.yaml:\d+: \S+: .+$/, l);
      return lines;
    }
    return assert.fail('the broken profile loaded');
  };

  test('schema problems name their line and path', () => {
    const lines = problemsOf({
      'broken.yaml': [
        'id: broken-cover', // 1
        'vendor: Test', // 2
        'model: Broken', // 3
        'assetType: manhole-cover', // 4
        'componentCode: "102"', // 5
        'transport: mqtt-json', // 6
        'reportingIntervalS: 60', // 7
        'metrics:', // 8
        '  - name: Tilt', // 9
        '    source: angle', // 10
        '    unit: deg', // 11
        'alarms:', // 12
        '  - id: tilted', // 13
        '    kind: threshold', // 14
        '    metric: tilt', // 15
        '    above: 10', // 16
        '    title: { zh: 倾斜 }', // 17
        '',
      ].join('\n'),
    });
    const has = (re: RegExp): void => assert.ok(lines.some((l) => re.test(l)), `no problem matching ${re}:\n${lines.join('\n')}`);
    has(/broken\.yaml:5: componentCode: a component class code has 4 digits/);
    has(/broken\.yaml:9: metrics\[0\]\.name: use snake_case/);
    // AlarmRule is a plain z.union, so zod only says "Invalid input" at the rule (line 13); with a
    // discriminated union on `kind` it would name alarms[0].title.en (line 17).
    has(/broken\.yaml:(13: alarms\[0\]: |17: alarms\[0\]\.title\.en: )/);
  });

  test('cross-references: a rule on an undefined metric, an undeclared param', () => {
    const lines = problemsOf({
      'refs.yaml': [
        'id: refs', // 1
        'vendor: Test', // 2
        'model: Refs', // 3
        'assetType: hydrant', // 4
        'componentCode: "0113"', // 5
        'transport: lorawan', // 6
        'reportingIntervalS: 60', // 7
        'metrics:', // 8
        '  - { name: pressure, source: p, unit: Pa }', // 9
        'alarms:', // 10
        '  - id: low', // 11
        '    kind: threshold', // 12
        '    metric: presure', // 13
        '    below: { param: min_pa }', // 14
        '    title: { zh: 低, en: Low }', // 15
        '',
      ].join('\n'),
    });
    assert.ok(lines.some((l) => /refs\.yaml:\d+: codec: a lorawan profile names its binary codec/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /refs\.yaml:11: alarms\[0\]: rule "low" uses metric "presure" which the profile does not define/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /refs\.yaml:11: alarms\[0\]: rule "low" uses parameter "min_pa"/.test(l)), lines.join('\n'));
  });

  test('YAML syntax errors and duplicate ids', () => {
    const lines = problemsOf({
      'a.yaml': readFileSync(join(repoRoot, 'device-profiles', 'milesight-em500-pp.yaml'), 'utf8'),
      'b.yaml': readFileSync(join(repoRoot, 'device-profiles', 'milesight-em500-pp.yaml'), 'utf8'),
      'c.yaml': 'id: bad\nmetrics: [\n',
    });
    assert.ok(lines.some((l) => /b\.yaml:\d+: id: profile id "milesight-em500-pp" is also defined in .*a\.yaml/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /c\.yaml:\d+: \(root\): YAML: /.test(l)), lines.join('\n'));
  });
});
