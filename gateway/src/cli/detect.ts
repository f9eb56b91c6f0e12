import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import sharp from 'sharp';
import { z } from 'zod';
import { ZoneConfig } from '../southbound/cameras/zones.js';
import { createLogger } from '../util/log.js';
import { hazeReading, stallScore } from '../pipeline/vision/analyze.js';
import { DetectorConfig } from '../pipeline/vision/config.js';
import { modelSpec } from '../pipeline/vision/detector/model.js';
import { WorkerPoolDetector } from '../pipeline/vision/detector/pool.js';
import type { BackendChoice } from '../pipeline/vision/detector/tf-runtime.js';
import { runOffline } from '../pipeline/vision/offline.js';
import { loadCameraProfiles } from '../pipeline/vision/rules/load.js';
import type { ObjectRule } from '../pipeline/vision/rules/profile.js';
import { loadScene } from '../pipeline/vision/scene.js';
import { defaultProfilesDir } from './paths.js';

interface DetectOpts {
  image?: string;
  video?: string;
  config?: string;
  zones?: string;
  backend?: string;
  workers?: string;
  fps?: string;
  maxFrames?: string;
  start?: string;
}

const cameraProfilesDir = resolve(defaultProfilesDir, 'cameras');
const round = (v: number) => Math.round(v * 10) / 10;

export function registerDetect(program: Command): void {
  program
    .command('detect')
    .description('run the detector offline: on one image (detections, stall score, haze index, timing) or through the whole pipeline on a video (the events it would send)')
    .option('--image <file>', 'a still image (JPEG, PNG, WebP, TIFF, GIF, AVIF; decoded with sharp, no ffmpeg needed)')
    .option('--zones <json>', 'with --image: zones as JSON (or a JSON file): [{"id","polygon":[[x,y],...],"rules":["no-vending"]}]')
    .option('--video <file>', 'a video file (any format ffmpeg reads)')
    .option('--config <file>', 'with --video: scene file (camera, zones, optional vision settings)')
    .option('--fps <n>', 'with --video: frames per second to sample (a motion-gated camera sends at most 1)', '1')
    .option('--max-frames <n>', 'with --video: stop after this many frames')
    .option('--start <iso>', 'with --video: wall-clock time of the first frame (rules with active hours use it)', '2024-05-06T10:00:00+08:00')
    .option('--backend <name>', 'auto | tensorflow | wasm | cpu')
    .option('--workers <n>', 'inference worker threads (default one per core)')
    .action(async (o: DetectOpts) => {
      if (o.image && o.video) throw new Error('give either --image or --video, not both');
      if (o.image) await detectImage(o);
      else if (o.video) await detectVideo(o);
      else throw new Error('give --image FILE or --video FILE --config SCENE.yaml');
    });
}

function detectorOptions(o: DetectOpts, base: DetectorConfig) {
  const backend = DetectorConfig.shape.backend.parse(o.backend ?? base.backend) as BackendChoice;
  const workers = o.workers !== undefined ? Number(o.workers) : base.workers;
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) throw new Error(`--workers: "${o.workers}" is not a positive whole number`);
  return { backend, workers, spec: modelSpec(base.model), minScore: base.minScore };
}

async function detectImage(o: DetectOpts): Promise<void> {
  if (!existsSync(o.image!)) throw new Error(`image not found: ${o.image}`);
  const zones = o.zones ? parseZones(o.zones) : undefined;
  const log = createLogger('warn');
  const opt = detectorOptions(o, DetectorConfig.parse({}));
  const t0 = performance.now();
  const data = await readStill(o.image!, opt.spec.inputSize);
  const t1 = performance.now();
  const det = await WorkerPoolDetector.start({ ...opt, workers: opt.workers ?? 1, onNote: (n) => log.warn(n) });
  const t2 = performance.now();
  try {
    const size = opt.spec.inputSize;
    const r = await det.detect({ cameraId: 'cli', seq: 0, ts: Date.now(), width: size, height: size, format: 'rgb24', data });
    const t3 = performance.now();
    const profile = loadCameraProfiles([cameraProfilesDir]).get('street-camera');
    const rule = profile?.zoneRules['no-vending']?.find((x): x is ObjectRule => x.kind === 'objects');
    const vending = zones?.filter((z) => z.rules.some((n) => n === 'no-vending' || n === 'shop-front'));
    const stall = rule ? stallScore(r.detections, rule, vending?.length ? vending.map((z) => z.polygon) : undefined) : 0;
    const haze = hazeReading(data, size, size);
    const zoneHaze = zones?.map((z) => ({ zone: z.id, ...hazeReading(data, size, size, z.polygon) }));
    const t4 = performance.now();
    const out = {
      image: o.image,
      backend: det.backend,
      inputSize: size,
      detections: r.detections.map((d) => ({ label: d.label, score: Math.round(d.score * 1000) / 1000, box: d.box.map((v) => Math.round(v * 10000) / 10000) })),
      stall: { score: stall },
      haze: { ...haze, baseline: 'generic clear-daylight statistics (a camera uses its own)', ...(zoneHaze && { zones: zoneHaze }) },
      timing: { decodeMs: round(t1 - t0), modelLoadMs: round(det.stats.loadMs[0]!), warmupMs: round(det.stats.warmupMs[0]!), startMs: round(t2 - t1), inferMs: round(r.inferMs), detectMs: round(t3 - t2), analyzeMs: round(t4 - t3) },
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } finally {
    await det.close();
  }
}

/** A still image as rgb24 at the detector's square input size (stretched, as a camera frame is), upright per its EXIF orientation. */
async function readStill(file: string, size: number): Promise<Buffer> {
  try {
    return await sharp(file).rotate().resize(size, size, { fit: 'fill' }).toColourspace('srgb').removeAlpha().raw().toBuffer();
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message} (a still image: JPEG, PNG, WebP, TIFF, GIF or AVIF; a video goes with --video)`);
  }
}

async function detectVideo(o: DetectOpts): Promise<void> {
  if (!o.config) throw new Error('--video needs --config SCENE.yaml (camera, zones)');
  if (!existsSync(o.video!)) throw new Error(`video not found: ${o.video}`);
  const scene = loadScene(o.config, [cameraProfilesDir]);
  const fps = Number(o.fps);
  if (!(fps > 0 && fps <= 60)) throw new Error(`--fps: "${o.fps}" is not a rate between 0 and 60`);
  const startAt = Date.parse(o.start!);
  if (Number.isNaN(startAt)) throw new Error(`--start: "${o.start}" is not an ISO 8601 time`);
  const maxFrames = o.maxFrames ? Number(o.maxFrames) : undefined;
  const log = createLogger('warn');
  const opt = detectorOptions(o, scene.vision.detector);
  const det = await WorkerPoolDetector.start({ ...opt, onNote: (n) => log.warn(n) });
  try {
    const run = await runOffline({ file: o.video!, camera: scene.camera, detector: det, log, fps, startAt, ...(maxFrames && { maxFrames }) });
    const med = (k: 'inferMs' | 'detectMs' | 'trackMs' | 'rulesMs') => {
      const v = run.timings.map((t) => t[k]).sort((a, b) => a - b);
      return v.length ? Math.round(v[v.length >> 1]! * 100) / 100 : 0;
    };
    const out = {
      video: o.video,
      camera: scene.camera.id,
      profile: scene.camera.profile.id,
      backend: det.backend,
      workers: det.stats.workers,
      frames: run.frames,
      detectionErrors: run.errors,
      events: run.events,
      timing: { wallMs: Math.round(run.wallMs), msPerFrame: Math.round((run.wallMs / Math.max(1, run.frames)) * 10) / 10, medianInferMs: med('inferMs'), medianTrackMs: med('trackMs'), medianRulesMs: med('rulesMs') },
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } finally {
    await det.close();
  }
}

function parseZones(arg: string): ZoneConfig[] {
  let text = arg;
  if (!arg.trim().startsWith('[') && existsSync(arg)) text = readFileSync(arg, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`--zones: not JSON (${(e as Error).message}); give an array of zones or a JSON file`);
  }
  const r = z.array(ZoneConfig).safeParse(json);
  if (!r.success) throw new Error(`--zones: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}
