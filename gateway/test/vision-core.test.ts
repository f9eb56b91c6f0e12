import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Box } from '../src/model/geometry.js';
import type { Frame } from '../src/southbound/cameras/types.js';
import { decodeDetections } from '../src/pipeline/vision/detector/decode.js';
import { readModel } from '../src/pipeline/vision/detector/model.js';
import { DetectorError, type Detection, type Detector } from '../src/pipeline/vision/detector/types.js';
import { SituationLifecycle } from '../src/pipeline/vision/events/lifecycle.js';
import { SiteSensors } from '../src/pipeline/vision/fusion.js';
import { addHaze, hazeIndex, hazeStats } from '../src/pipeline/vision/haze/haze.js';
import { evaluateObjectRule, inWindow, inZone } from '../src/pipeline/vision/rules/evaluate.js';
import { loadCameraProfiles } from '../src/pipeline/vision/rules/load.js';
import type { CameraProfile, ObjectRule } from '../src/pipeline/vision/rules/profile.js';
import { CameraDetection } from '../src/pipeline/vision/stage.js';
import { Tracker } from '../src/pipeline/vision/tracker/tracker.js';
import type { Device } from '../src/model/devices.js';
import { visionEventBody } from '../src/northbound/messages.js';
import { loadConfig } from '../src/config/load.js';
import { assertValidMessage, contractValidators } from './helpers/contract.js';
import { repoRoot } from './helpers/shared.js';

const profiles = loadCameraProfiles([join(repoRoot, 'device-profiles', 'cameras')]);
const street = profiles.get('street-camera')!;
const rule = (name: string, id: string) => street.zoneRules[name]!.find((r) => r.id === id) as ObjectRule;
const det = (label: string, box: Box, score = 0.7): Detection => ({ label, classId: 0, score, box });
const S = 1000;

describe('tracker', () => {
  const settings = street.tracker;
  test('a still car is one track whose stationary time grows; a walking person is not stationary', () => {
    const t = new Tracker(settings);
    let car, person;
    for (let i = 0; i < 120; i++) {
      const jitter = (i % 3) * 0.002; // detector boxes jitter on a still object
      const x = 0.1 + i * 0.006; // the person walks across the picture
      const seen = t.update([det('car', [0.6 + jitter, 0.5, 0.8 + jitter, 0.65]), det('person', [x, 0.4, x + 0.04, 0.55])], i * S);
      car = seen.find((s) => s.label === 'car');
      person = seen.find((s) => s.label === 'person');
    }
    assert.equal(car!.id, 1);
    assert.equal(car!.stationaryS, 119);
    assert.equal(person!.id, 2, 'the walking person keeps one track');
    assert.ok(person!.stationaryS < 10, `walking person stationary ${person!.stationaryS} s`);
  });

  test('one-frame false positives never become tracks; tracks unseen for maxGapS end', () => {
    const t = new Tracker(settings);
    assert.deepEqual(t.update([det('dog', [0.1, 0.1, 0.2, 0.2])], 0), []);
    assert.equal(t.update([det('car', [0.5, 0.5, 0.7, 0.7])], 1 * S).length, 0);
    assert.equal(t.update([det('car', [0.5, 0.5, 0.7, 0.7])], 2 * S)[0]!.id, 2);
    const later = t.update([det('car', [0.5, 0.5, 0.7, 0.7])], (2 + settings.maxGapS + 1) * S);
    assert.equal(later.length, 0, 'the old track ended; the new one needs its own confirmation');
    assert.ok(t.update([det('car', [0.5, 0.5, 0.7, 0.7])], (4 + settings.maxGapS) * S)[0]!.id > 2);
  });
});

describe('zone rules (camera profile)', () => {
  const stall = rule('no-vending', 'illegal-stall');
  const track = (id: number, label: string, box: Box, stationaryS = 600) => ({ id, label, box, score: 0.7, stationaryS, firstSeen: 0, lastSeen: 0, hits: 10 });
  const vendor = track(1, 'person', [0.4, 0.3, 0.45, 0.5]);

  test('a still person with goods around is a stall; with one bag, far goods, or a walking person it is not', () => {
    const umbrella = track(2, 'umbrella', [0.35, 0.25, 0.5, 0.35]);
    const table = track(3, 'dining table', [0.45, 0.4, 0.55, 0.5]);
    assert.equal(evaluateObjectRule(stall, [vendor, umbrella, table]).holds, true);
    assert.deepEqual(evaluateObjectRule(stall, [vendor, umbrella, table]).tracks.map((t) => t.id), [1, 2, 3]);
    assert.equal(evaluateObjectRule(stall, [vendor, track(4, 'backpack', [0.41, 0.35, 0.44, 0.42])]).holds, false, 'one bag');
    assert.equal(evaluateObjectRule(stall, [vendor, umbrella, track(5, 'dining table', [0.9, 0.8, 0.99, 0.9])]).holds, false, 'table far away');
    assert.equal(evaluateObjectRule(stall, [{ ...vendor, stationaryS: 5 }, umbrella, table]).holds, false, 'person walking');
  });

  test('parking: a still car counts, a still bicycle is the non-motor rule, a moving car nothing', () => {
    const motor = rule('no-parking', 'illegal-parking-motor');
    const nonMotor = rule('no-parking', 'illegal-parking-non-motor');
    assert.equal(evaluateObjectRule(motor, [track(1, 'car', [0.1, 0.5, 0.3, 0.7])]).holds, true);
    assert.equal(evaluateObjectRule(motor, [track(1, 'car', [0.1, 0.5, 0.3, 0.7], 3)]).holds, false);
    assert.equal(evaluateObjectRule(motor, [track(1, 'bicycle', [0.1, 0.5, 0.2, 0.7])]).holds, false);
    assert.equal(evaluateObjectRule(nonMotor, [track(1, 'bicycle', [0.1, 0.5, 0.2, 0.7])]).holds, true);
  });

  test('zones use the ground point of a box; active hours use local time and wrap midnight', () => {
    const zone = { polygon: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]] as [number, number][] };
    assert.deepEqual(inZone([track(1, 'car', [0.1, 0.3, 0.3, 0.6]), track(2, 'car', [0.1, 0.1, 0.3, 0.4])], zone).map((t) => t.id), [1]);
    const at = Date.parse('2024-05-06T10:00:00+08:00');
    assert.equal(inWindow(at, { from: '07:00', to: '18:00' }, 'Asia/Shanghai'), true);
    assert.equal(inWindow(at, { from: '07:00', to: '18:00' }, 'UTC'), false);
    assert.equal(inWindow(at, { from: '22:00', to: '11:00' }, 'Asia/Shanghai'), true);
  });

  test('gateway config: the vision section loads the camera profiles; an unknown default profile is named at its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-visioncfg-'));
    const base = `gateway: { id: gw-1, gridId: "31011500301201", location: { lat: 31.2, lon: 121.5 } }\nprofiles: { dirs: [${join(repoRoot, 'device-profiles')}] }\nuplink: { url: "mqtt://127.0.0.1:1" }\n`;
    writeFileSync(join(dir, 'ok.yaml'), `${base}vision:\n  profileDirs: [${join(repoRoot, 'device-profiles', 'cameras')}]\n`);
    assert.ok(loadConfig(join(dir, 'ok.yaml')).cameraProfiles?.has('street-camera'));
    writeFileSync(join(dir, 'bad.yaml'), `${base}vision:\n  profileDirs: [${join(repoRoot, 'device-profiles', 'cameras')}]\n  defaultProfile: kerbside\n`);
    assert.throws(() => loadConfig(join(dir, 'bad.yaml')), /bad\.yaml:6: vision\.defaultProfile: no camera profile "kerbside"/);
  });

  test('a broken camera profile is reported with file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-camprof-'));
    writeFileSync(join(dir, 'bad.yaml'), 'id: bad\nzoneRules:\n  no-parking:\n    - id: p\n      kind: objects\n      eventType: illegal-parking\n      code: "505"\n      title: { zh: 停车, en: Parking }\n      anchor: { classes: [car] }\n      minDwellS: 60\n');
    assert.throws(() => loadCameraProfiles([dir]), /bad\.yaml:7: zoneRules\.no-parking\[0\]\.code: an event type code has 4 digits/);
  });
});

describe('event lifecycle', () => {
  const settings = { minDwellS: 300, gapS: 30, cooldownS: 120, updateMinS: 60 };
  const obs = (holds: boolean, ids: number[] = [1], confidence = 0.7) => ({ holds, confidence, tracks: ids.map((id) => ({ id, label: 'car', box: [0, 0, 0.1, 0.1] as Box, score: 0.7, stationaryS: 0, firstSeen: 0, lastSeen: 0, hits: 3 })) });

  test('one event per situation: start after the dwell, no storm while it lasts, end after the cool-down', () => {
    let n = 0;
    const life = new SituationLifecycle(settings, () => `e${++n}`);
    const phases: string[] = [];
    for (let s = 0; s <= 3600; s++) for (const a of life.step(obs(s < 1800), s * S)) phases.push(`${a.phase}@${s}`);
    assert.deepEqual(phases, ['start@300', 'end@1919']);
  });

  test('an object that leaves and returns within the cool-down continues the same event; a later return is a new one', () => {
    let n = 0;
    const life = new SituationLifecycle(settings, () => `e${++n}`);
    const out: string[] = [];
    const run = (from: number, to: number, holds: boolean, ids: number[] = [1]) => {
      for (let s = from; s < to; s++) for (const a of life.step(obs(holds, ids), s * S)) out.push(`${a.phase}:${a.eventId}@${s}`);
    };
    run(0, 400, true);
    run(400, 490, false); // gone 90 s < 120 s cool-down
    run(490, 600, true, [7]); // back, as a new track
    run(600, 800, false);
    run(800, 1200, true, [9]);
    assert.deepEqual(out, ['start:e1@300', 'update:e1@490', 'end:e1@719', 'start:e2@1100']);
  });

  test('the dwell clock forgives short lapses before the start, not long ones', () => {
    const life = new SituationLifecycle(settings, () => 'e');
    const starts: number[] = [];
    for (let s = 0; s < 1000; s++) {
      const holds = !(s >= 100 && s < 120) && !(s >= 200 && s < 260); // 20 s lapse forgiven, 60 s lapse restarts
      for (const a of life.step(obs(holds), s * S)) if (a.phase === 'start') starts.push(s);
    }
    assert.deepEqual(starts, [260 + 300]);
  });

  test('updates only for material changes and at most every updateMinS', () => {
    const life = new SituationLifecycle(settings, () => 'e');
    const ups: number[] = [];
    for (let s = 0; s < 1000; s++) for (const a of life.step(obs(true, [1, 100 + s]), s * S)) if (a.phase === 'update') ups.push(s);
    assert.deepEqual(ups, [360, 420, 480, 540, 600, 660, 720, 780, 840, 900, 960]);
  });
});

describe('haze index', () => {
  // A textured, coloured scene: stripes and colour gradients, as a stand-in for the real frames of eval:vision.
  const W = 128;
  const scene = new Uint8Array(W * W * 3);
  for (let y = 0; y < W; y++)
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      const stripe = (x >> 3) % 2 ? 40 : 200;
      scene[i] = stripe;
      scene[i + 1] = (y * 2) % 256;
      scene[i + 2] = 255 - stripe / 2;
    }
  const clean = hazeStats(scene, W, W);

  test('is 0 on the baseline itself and rises monotonically as the transmission falls', () => {
    assert.equal(hazeIndex(clean, clean), 0);
    let prev = 0;
    for (const t of [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]) {
      const idx = hazeIndex(hazeStats(addHaze(scene, t), W, W), clean);
      assert.ok(idx > prev, `t=${t}: index ${idx} not above ${prev}`);
      prev = idx;
    }
    assert.ok(prev > 0.6, `heavy haze index ${prev}`);
  });

  test('a darker scene (dusk) is not haze', () => {
    const dusk = scene.map((v) => Math.round(v * 0.4));
    assert.equal(hazeIndex(hazeStats(dusk, W, W), clean), 0);
  });
});

describe('detector output and model files', () => {
  test('decodes [1,N,6] rows: drops low scores and unknown classes, suppresses duplicates, normalizes boxes', () => {
    const raw = [
      100, 50, 200, 250, 0.9, 0, // person
      105, 55, 205, 250, 0.6, 0, // the same person again
      300, 300, 400, 400, 0.2, 2, // below minScore
      10, 10, 50, 50, 0.8, 99, // no such class
      0, 0, 0, 0, 0, 0,
    ];
    const d = decodeDetections(raw, 500, ['person', 'bicycle', 'car'], 0.3);
    assert.equal(d.length, 1);
    assert.deepEqual(d[0], { label: 'person', classId: 0, score: 0.9, box: [0.2, 0.1, 0.4, 0.5] });
  });

  test('missing, corrupt and truncated model files are named with what to do', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-model-'));
    assert.throws(() => readModel({ json: join(dir, 'nope.json'), classes: ['a'], inputSize: 64 }), /model file not found: .*nope\.json/);
    writeFileSync(join(dir, 'bad.json'), '{"format": "graph-model", "modelTop');
    assert.throws(() => readModel({ json: join(dir, 'bad.json'), classes: ['a'], inputSize: 64 }), /bad\.json is not valid JSON/);
    writeFileSync(join(dir, 'm.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['m.bin'], weights: [{ name: 'w', shape: [10], dtype: 'float32' }] }] }));
    writeFileSync(join(dir, 'm.bin'), Buffer.alloc(12));
    assert.throws(() => readModel({ json: join(dir, 'm.json'), classes: ['a'], inputSize: 64 }), (e: Error) => e instanceof DetectorError && /have 12 bytes, the model expects 40: the files are truncated or corrupt/.test(e.message));
  });
});

describe('detection stage (scripted detections, real tracker, rules and lifecycle)', () => {
  const validators = contractValidators();
  const log = pino({ level: 'silent' });
  const frame = (seq: number, ts: number, data = Buffer.alloc(64 * 64 * 3, 90)): Frame => ({ cameraId: 'cam-1', seq, ts, width: 64, height: 64, format: 'rgb24', data });
  const envelope = (body: object, seq: number): { type?: string } => <{ type?: string }>({ id: '0190a0b0-0000-7000-8000-000000000000', ts: new Date().toISOString(), gatewayId: 'gw-1', seq, v: 1, ...body });
  const T0 = Date.parse('2024-05-06T10:00:00+08:00');
  const fast: CameraProfile = { ...street, cooldownS: 60, updateMinS: 60 };

  test('a van parked for 10 minutes in a no-parking zone is one schema-valid start/end pair with grid and zone', async () => {
    const script = (seq: number): Detection[] => (seq < 600 ? [det('truck', [0.7, 0.1, 0.9, 0.3], 0.8)] : []);
    const detector: Detector = { backend: 'test', inputSize: 64, detect: async (f) => ({ detections: script(f.seq), inferMs: 1, totalMs: 1 }), close: async () => {} };
    const sent: Array<{ body: Record<string, unknown>; at: number }> = [];
    const stage = new CameraDetection({
      camera: { id: 'cam-1', gridId: '31011500301201', location: { lat: 31.23, lon: 121.53 }, profile: fast, zones: [{ id: 'kerb', polygon: [[0.5, 0], [1, 0], [1, 0.5], [0.5, 0.5]], rules: ['no-parking'], gridId: '31011500301202' }] },
      detector: () => detector,
      publish: (e) => sent.push({ body: visionEventBody(e) as unknown as Record<string, unknown>, at: e.at }),
      log,
    });
    for (let s = 0; s < 700; s++) await stage.onFrame(frame(s, T0 + s * S));
    assert.deepEqual(sent.map((e) => e.body.phase), ['start', 'end']);
    const [start, end] = sent.map((e) => e.body);
    assert.equal(start!.eventCode, '0505');
    assert.equal(start!.gridId, '31011500301202');
    assert.deepEqual(start!.zone, { id: 'kerb', rule: 'no-parking' });
    assert.equal(start!.eventId, end!.eventId);
    assert.equal(end!.endedAt, new Date(T0 + 599 * S).toISOString());
    sent.forEach((e, i) => assertValidMessage(validators, envelope(e.body, i)));
  });

  test('construction dust: haze alone is a medium-confidence event; with the site dust monitor over its limit, high-confidence and fused', async () => {
    const detector: Detector = { backend: 'test', inputSize: 64, detect: async () => ({ detections: [], inferMs: 1, totalMs: 1 }), close: async () => {} };
    const sensors = new SiteSensors('site-a');
    const sent: Array<Record<string, unknown>> = [];
    const W = 64;
    const scene = Buffer.alloc(W * W * 3);
    for (let i = 0; i < scene.length; i += 3) {
      const x = (i / 3) % W;
      scene[i] = (x >> 2) % 2 ? 30 : 220;
      scene[i + 1] = 120;
      scene[i + 2] = (x >> 2) % 2 ? 200 : 40;
    }
    const hazy = Buffer.from(addHaze(scene, 0.3));
    const stage = new CameraDetection({
      camera: { id: 'cam-1', gridId: '31011500301201', location: { lat: 31.23, lon: 121.53 }, profile: fast, zones: [{ id: 'site', polygon: [[0, 0], [1, 0], [1, 1], [0, 1]], rules: ['construction-site'], site: 'site-a' }] },
      detector: () => detector,
      publish: (e) => sent.push(visionEventBody(e) as unknown as Record<string, unknown>),
      sensors,
      log,
    });
    let s = 0;
    for (; s < 30; s++) await stage.onFrame(frame(s, T0 + s * S, scene)); // clean: the baseline
    for (; s < 400; s++) await stage.onFrame(frame(s, T0 + s * S, hazy));
    assert.deepEqual(sent.map((e) => e.phase), ['start']);
    assert.equal(sent[0]!.eventCode, '0302');
    assert.equal(sent[0]!.confidence, 0.6);
    const monitor = { id: 'dust-1', config: {} } as unknown as Device;
    sensors.telemetry(monitor, { deviceId: 'dust-1', profileId: 'decentlab-dl-pm', observedAt: T0 + s * S, raw: {}, metrics: { pm10: { value: 260, unit: 'ug/m3' } } });
    for (; s < 500; s++) await stage.onFrame(frame(s, T0 + s * S, hazy));
    assert.deepEqual(sent.map((e) => e.phase), ['start', 'update']);
    assert.equal(sent[1]!.confidence, 0.9);
    assert.deepEqual(sent[1]!.relatedDevices, ['dust-1']);
    assert.equal((sent[1]!.measurements as Record<string, number>)['dust-1.pm10'], 260);
    sent.forEach((e, i) => assertValidMessage(validators, envelope(e, i)));
  });

  test('detector failures are counted and logged, never thrown at the camera stage', async () => {
    const detector: Detector = { backend: 'test', inputSize: 64, detect: async () => Promise.reject(new DetectorError('frame is 10x10', 'input')), close: async () => {} };
    const lines: string[] = [];
    const stage = new CameraDetection({
      camera: { id: 'cam-1', gridId: '31011500301201', location: { lat: 31.23, lon: 121.53 }, profile: fast, zones: [] },
      detector: () => detector,
      publish: () => assert.fail('nothing to publish'),
      log: pino({ level: 'error' }, { write: (l: string) => lines.push(l) }),
    });
    for (let s = 0; s < 150; s++) await stage.onFrame(frame(s, T0 + s * S));
    assert.equal(stage.counters.errors, 150);
    assert.equal(lines.length, 2, 'the first failure and the 100th are logged, not 150 lines');
    assert.match(lines[0]!, /cam-1.*detection failed: frame is 10x10/);
  });
});
