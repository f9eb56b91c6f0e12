import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Frame } from '../src/southbound/cameras/types.js';
import type { DetectionResult, Detector } from '../src/pipeline/vision/detector/types.js';
import { readFrames } from '../src/pipeline/vision/video/ffmpeg-frames.js';

// Runs from gateway/dist/bench/: the repository root is three levels up.
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function vtestPath(): string {
  const p = join(repoRoot, 'test-artifacts', 'media', 'vtest.avi');
  if (!existsSync(p)) {
    process.stderr.write(`${p} is missing: run .ci/fetch-test-media.sh first\n`);
    process.exit(2);
  }
  return p;
}

export async function loadFrames(file: string, fps: number, size = 512, maxFrames?: number): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of readFrames(file, { width: size, height: size, fps, ...(maxFrames && { maxFrames }) })) {
    out.push({ cameraId: 'cam-vtest', seq: f.index, ts: f.ptsMs, width: size, height: size, format: 'rgb24', data: f.data });
  }
  return out;
}

export const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : NaN;
};
export const r1 = (v: number) => Math.round(v * 10) / 10;
export const r3 = (v: number) => Math.round(v * 1000) / 1000;

/** Detects every frame, keeping `concurrency` requests in flight (the pool refuses more than it can queue). */
export async function detectAll(det: Detector, frames: Frame[], concurrency: number): Promise<DetectionResult[]> {
  const out: DetectionResult[] = new Array(frames.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < frames.length) {
        const i = next++;
        out[i] = await det.detect(frames[i]!);
      }
    }),
  );
  return out;
}
