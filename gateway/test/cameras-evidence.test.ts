import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { Evidence } from '@gridgate/contract';
import { EvidenceStore } from '../src/southbound/cameras/evidence.js';
import type { Box } from '../src/model/geometry.js';
import type { Frame } from '../src/southbound/cameras/types.js';
import { testVideo } from './helpers/cameras.js';

// Evidence from a real CCTV frame (vtest.avi, decoded by ffmpeg to the detector's 512×512): what is written,
// what is blurred, what the hashes say, and what retention removes.

const SIZE = 512;

function realFrame(atS: number): Frame {
  const data = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-ss', String(atS), '-i', testVideo(), '-frames:v', '1', '-vf', `scale=${SIZE}:${SIZE}`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: 8 << 20 });
  return { cameraId: 'cam-gate', seq: 42, ts: Date.UTC(2026, 10, 23, 8, 30, 15, 250), width: SIZE, height: SIZE, format: 'rgb24', data };
}

async function rawOf(file: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Mean absolute difference and the variance of the first image, over a normalized box. */
function regionStats(a: { data: Buffer; width: number; height: number }, b: { data: Buffer; width: number; height: number } | undefined, box: Box): { diff: number; variance: number } {
  const [x1, y1, x2, y2] = box.map((v, i) => Math.round(v * (i % 2 ? a.height : a.width))) as [number, number, number, number];
  let n = 0;
  let diff = 0;
  let sum = 0;
  let sq = 0;
  for (let y = y1; y < y2; y++) {
    for (let x = x1; x < x2; x++) {
      const i = (y * a.width + x) * 3;
      const g = a.data[i]!;
      sum += g;
      sq += g * g;
      if (b) diff += Math.abs(g - b.data[i]!);
      n++;
    }
  }
  return { diff: diff / n, variance: sq / n - (sum / n) ** 2 };
}

describe('evidence store', () => {
  let frame: Frame;
  before(() => {
    frame = realFrame(12);
  });

  const person: Box = [0.3, 0.25, 0.42, 0.75];
  const car: Box = [0.55, 0.5, 0.95, 0.9];

  test('annotated and clean JPEGs with the camera’s aspect, SHA-256 recorded, heads and plates blurred before writing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-evidence-'));
    const store = new EvidenceStore({
      dir,
      jpegQuality: 90,
      maxAgeDays: 30,
      maxMb: 100,
      log: pino({ level: 'silent' }),
      cameraSettings: () => ({ blurFaces: true, blurPlates: true, sourceSize: { width: 768, height: 576 } }),
    });
    await store.start();
    const zone = { id: 'kerb', name: 'Hospital gate kerb', polygon: [[0.5, 0.45], [1, 0.45], [1, 1], [0.5, 1]] as Array<[number, number]> };
    const ev = await store.save(frame, { boxes: [{ box: person, label: 'person', score: 0.91 }, { box: car, label: 'car', score: 0.8 }], zone, label: 'illegal-parking' });
    assert.deepEqual(ev.map((e) => e.kind), ['annotated', 'clean']);
    for (const e of ev) {
      Evidence.parse(e);
      assert.equal(e.takenAt, '2026-11-23T08:30:15.250Z');
      assert.equal(e.blurred, true);
      assert.match(e.ref, /^evidence\/cam-gate\/2026-11-23\/083015250-42-\d{3}-(annotated|clean)\.jpg$/);
      const file = store.resolveRef(e.ref)!;
      assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), e.sha256, 'the recorded hash is the file’s');
      assert.match(readFileSync(join(dirname(file), 'SHA256SUMS'), 'utf8'), new RegExp(`^${e.sha256}  ${file.split('/').pop()}$`, 'm'));
    }
    const annotated = await rawOf(store.resolveRef(ev[0]!.ref)!);
    const clean = await rawOf(store.resolveRef(ev[1]!.ref)!);
    assert.deepEqual([clean.width, clean.height], [512, 384], '4:3 like the camera, not the detector’s square');
    // The original at the same size, for comparison.
    const original = { data: await sharp(frame.data, { raw: { width: SIZE, height: SIZE, channels: 3 } }).resize(512, 384, { fit: 'fill' }).raw().toBuffer(), width: 512, height: 384 };
    const head: Box = [0.31, 0.25, 0.41, 0.33];
    const elsewhere: Box = [0.02, 0.05, 0.2, 0.2];
    const h0 = regionStats(original, undefined, head);
    const h1 = regionStats(clean, original, head);
    assert.ok(h1.variance < h0.variance * 0.5, `head region smoothed: variance ${h0.variance.toFixed(0)} → ${h1.variance.toFixed(0)}`);
    assert.ok(regionStats(clean, original, elsewhere).diff < 4, 'the rest of the picture is untouched (JPEG noise only)');
    // The annotated image has the box drawn in red on its left edge, the clean one does not.
    const edge: Box = [0.298, 0.4, 0.304, 0.6];
    const red = (img: typeof clean) => {
      const [x1, y1, x2, y2] = [Math.floor(edge[0] * 512), Math.floor(edge[1] * 384), Math.ceil(edge[2] * 512), Math.ceil(edge[3] * 384)];
      let n = 0;
      for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) {
        const i = (y * 512 + x) * 3;
        if (img.data[i]! > 180 && img.data[i + 1]! < 90 && img.data[i + 2]! < 90) n++;
      }
      return n;
    };
    assert.ok(red(annotated) > 20, `box drawn (${red(annotated)} red pixels)`);
    assert.equal(red(clean), 0);
    await store.stop();
  });

  test('retention: files past the age limit go, then the oldest beyond the quota; refs cannot leave the folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-evidence-'));
    const store = new EvidenceStore({ dir, jpegQuality: 80, maxAgeDays: 7, maxMb: 10, log: pino({ level: 'silent' }), cameraSettings: () => ({ blurFaces: false, blurPlates: false }) });
    await store.start();
    const old = await store.save({ ...frame, ts: Date.UTC(2026, 9, 1) });
    const mid = await store.save({ ...frame, ts: Date.UTC(2026, 10, 20) });
    const fresh = await store.save(frame);
    const aged = Date.now() / 1000 - 10 * 86400;
    for (const e of old) utimesSync(store.resolveRef(e.ref)!, aged, aged);
    const r = await store.prune();
    assert.equal(r.deleted, 2);
    assert.ok(old.every((e) => !existsSync(store.resolveRef(e.ref)!)), 'older than 7 days: gone');
    assert.ok(!existsSync(join(dir, 'cam-gate', '2026-10-01')), 'an emptied day folder goes with its SHA256SUMS');
    assert.ok([...mid, ...fresh].every((e) => existsSync(store.resolveRef(e.ref)!)));
    // Quota: make the oldest remaining files the oldest by time, then shrink the quota below two pairs.
    const size = [...mid, ...fresh].reduce((s, e) => s + readFileSync(store.resolveRef(e.ref)!).length, 0);
    const tight = new EvidenceStore({ dir, jpegQuality: 80, maxAgeDays: 7, maxMb: (size * 0.6) / 1048576, log: pino({ level: 'silent' }), cameraSettings: () => ({ blurFaces: false, blurPlates: false }) });
    const earlier = Date.now() / 1000 - 3600;
    for (const e of mid) utimesSync(store.resolveRef(e.ref)!, earlier, earlier);
    const t = await tight.prune();
    assert.equal(t.deleted, 2, 'the older pair');
    assert.ok(mid.every((e) => !existsSync(store.resolveRef(e.ref)!)) && fresh.every((e) => existsSync(store.resolveRef(e.ref)!)));
    assert.deepEqual(readdirSync(join(dir, 'cam-gate')), [fresh[0]!.takenAt.slice(0, 10)]);
    assert.equal(store.resolveRef('evidence/../../etc/passwd'), undefined);
    assert.equal(store.resolveRef('evidence/cam-gate/x/../../../outside.jpg'), undefined);
    assert.equal(store.resolveRef('/etc/passwd'), undefined);
    await store.stop();
  });
});
