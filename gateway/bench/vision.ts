// npm run bench:vision — per available tfjs backend: ms per frame for the model alone and for the whole
// pipeline (decode → detect → track → rules), and how many 1 fps cameras this machine's cores sustain with
// the motion gate on and off. Medians of repeated frames; everything in one run, so ratios compare like
// with like on a loaded machine.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Frame } from '../src/southbound/cameras/types.js';
import { builtinModel } from '../src/pipeline/vision/detector/model.js';
import { WorkerPoolDetector } from '../src/pipeline/vision/detector/pool.js';
import type { BackendChoice } from '../src/pipeline/vision/detector/tf-runtime.js';
import { loadCameraProfiles } from '../src/pipeline/vision/rules/load.js';
import { CameraDetection } from '../src/pipeline/vision/stage.js';
import { readFrames } from '../src/pipeline/vision/video/ffmpeg-frames.js';
import { detectAll, loadFrames, median, r1, repoRoot, vtestPath } from './media.js';

const log = pino({ level: 'silent' });
const file = vtestPath();
const cores = availableParallelism();
const street = loadCameraProfiles([join(repoRoot, 'device-profiles', 'cameras')]).get('street-camera')!;
const camera = { id: 'cam-vtest', gridId: '31011500301201', location: { lat: 31.2336, lon: 121.5329 }, profile: street, zones: [{ id: 'street', polygon: [[0, 0], [1, 0], [1, 1], [0, 1]] as [number, number][], rules: ['no-vending', 'shop-front', 'no-parking', 'construction-site'] }] };
const PERIODIC_S = 10;

/**
 * Stand-in for the camera stage's motion gate (which lives with the camera capture): share of 64×64 grey
 * cells that changed by more than 12 levels; motion above 0.2 %, and a periodic frame every 10 s anyway.
 */
function gatePassShare(frames: Frame[]): number {
  let prev: Uint8Array | undefined;
  let passed = 0;
  let lastPass = -Infinity;
  for (const f of frames) {
    const g = new Uint8Array(64 * 64);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
      const i = ((y * 8) * 512 + x * 8) * 3;
      g[y * 64 + x] = (f.data[i]! * 77 + f.data[i + 1]! * 150 + f.data[i + 2]! * 29) >> 8;
    }
    let changed = 0;
    if (prev) for (let k = 0; k < g.length; k++) if (Math.abs(g[k]! - prev[k]!) > 12) changed++;
    prev = g;
    const motion = changed / g.length > 0.002;
    if (motion || f.ts - lastPass >= PERIODIC_S * 1000) {
      passed++;
      lastPass = f.ts;
    }
  }
  return passed / frames.length;
}

async function tfjsNodeLoads(): Promise<boolean> {
  return import('@tensorflow/tfjs-node' as string).then(() => true, () => false);
}

const backends: BackendChoice[] = [...((await tfjsNodeLoads()) ? (['tensorflow'] as const) : []), 'wasm', 'cpu'];
const frames = await loadFrames(file, 1, 512, 40);
// A quiet street: the same picture with sensor noise only (what a camera sees when nothing moves).
const quiet: Frame[] = frames.slice(0, 40).map((f, i) => ({ ...f, ts: i * 1000, data: Buffer.from(frames[0]!.data.map((v, k) => Math.min(255, Math.max(0, v + (((k * 7919 + i * 104729) % 5) - 2))))) }));
const passBusy = gatePassShare(frames);
const passQuiet = gatePassShare(quiet);
console.log(`machine: ${cores} cores; frames: vtest.avi at 1 fps, 512x512; motion gate pass share: busy street (vtest) ${r1(passBusy * 100)} %, quiet street ${r1(passQuiet * 100)} %`);
console.log('note: tfjs-wasm runs single-threaded under Node (tfjs disables wasm threads there); SIMD is used. Parallelism = one worker thread per core.');

for (const backend of backends) {
  const n = backend === 'cpu' ? 2 : 15;
  let det: WorkerPoolDetector;
  const t0 = performance.now();
  try {
    det = await WorkerPoolDetector.start({ spec: builtinModel(), backend, minScore: 0.3, workers: 1 });
  } catch (e) {
    console.log(`${backend}: not available (${(e as Error).message})`);
    continue;
  }
  const startMs = performance.now() - t0;
  for (const f of frames.slice(0, backend === 'cpu' ? 1 : 3)) await det.detect(f); // warm the kernels
  // Interleaved, so both see the same machine load: the model alone on a pre-decoded frame, then the whole
  // pipeline on the next frame of the file (ffmpeg decode → detect → track → rules).
  const infer: number[] = [];
  const call: number[] = [];
  const pipe: number[] = [];
  const stage = new CameraDetection({ camera, detector: () => det, publish: () => {}, log });
  const stream = readFrames(file, { width: 512, height: 512, fps: 1, maxFrames: n + 1 })[Symbol.asyncIterator]();
  await stream.next(); // starts ffmpeg
  for (const f of frames.slice(0, n)) {
    const r = await det.detect(f);
    infer.push(r.inferMs);
    call.push(r.totalMs);
    const t = performance.now();
    const raw = await stream.next();
    if (raw.done) break;
    await stage.onFrame({ cameraId: camera.id, seq: raw.value.index, ts: Date.parse('2024-05-06T10:00:00+08:00') + raw.value.ptsMs, width: 512, height: 512, format: 'rgb24', data: raw.value.data });
    pipe.push(performance.now() - t);
  }
  await stream.return?.(undefined);
  await det.close();
  const model = median(infer);
  const whole = median(pipe);
  console.log(`${backend}: detector start ${Math.round(startMs)} ms (model load ${Math.round(det.stats.loadMs[0]!)} ms, warm-up ${Math.round(det.stats.warmupMs[0]!)} ms)`);
  console.log(`  model alone     ${r1(model)} ms/frame (median of ${n}; with transfer to the worker ${r1(median(call))} ms)`);
  console.log(`  whole pipeline  ${r1(whole)} ms/frame  → overhead ${r1((whole / model - 1) * 100)} % over bare inference (target ≤ 15 %)`);
  if (backend === 'cpu') {
    console.log(`  ${cores} workers: not measured (at ${r1(model / 1000)} s per frame the pure-JavaScript backend serves no 1 fps camera; it is there for comparison)`);
    continue;
  }
  // Capacity: one worker per core, frames kept in flight, throughput in frames/s.
  const pool = await WorkerPoolDetector.start({ spec: builtinModel(), backend, minScore: 0.3, workers: cores });
  const k = 30;
  const tc = performance.now();
  await detectAll(pool, frames.slice(0, k), 2 * cores);
  const fps = k / ((performance.now() - tc) / 1000);
  await pool.close();
  console.log(`  ${cores} workers: ${r1(fps)} frames/s → 1 fps cameras: gate off ${Math.floor(fps)}, gate on busy street ${Math.floor(fps / passBusy)}, gate on quiet street ${Math.floor(fps / passQuiet)} (target ≥ 8 gated)`);
}
