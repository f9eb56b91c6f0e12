import type { VisionEvent } from '@gridgate/contract';
import type { Logger } from 'pino';
import type { Frame } from '../../southbound/cameras/types.js';
import { visionEventBody, type Body } from '../../northbound/messages.js';
import type { VisionCamera } from './camera.js';
import type { DetectionResult, Detector } from './detector/types.js';
import { CameraDetection, type StageTiming } from './stage.js';
import { readFrames } from './video/ffmpeg-frames.js';
import type { SiteSensors } from './fusion.js';

export interface OfflineRun {
  frames: number;
  events: Array<Body<VisionEvent> & { at: string }>;
  timings: StageTiming[];
  /** Wall time of the whole run, ms. */
  wallMs: number;
  errors: number;
}

export interface OfflineOptions {
  file: string;
  camera: VisionCamera;
  detector: Detector;
  log: Logger;
  /** Sampling rate; default 1 frame/s, what a motion-gated camera sends at most. */
  fps?: number;
  maxFrames?: number;
  /** Wall-clock time of the file's first frame, ms (rules with active hours depend on it). */
  startAt: number;
  /** After the last frame, let the cool-down run out so open events end. Default true. */
  flush?: boolean;
  sensors?: SiteSensors;
  onEvent?: (e: Body<VisionEvent> & { at: string }) => void;
}

/**
 * Runs a video file through the whole detection pipeline as a camera would (decode → detect → track →
 * rules → events), collecting the events instead of sending them. Detection of the next frames runs ahead
 * on the worker threads while tracking and rules take frames strictly in order.
 */
export async function runOffline(o: OfflineOptions): Promise<OfflineRun> {
  const t0 = performance.now();
  const events: OfflineRun['events'] = [];
  const timings: StageTiming[] = [];
  const ahead = new Map<number, Promise<DetectionResult>>();
  const inner = o.detector;
  const lookahead: Detector = {
    backend: inner.backend,
    inputSize: inner.inputSize,
    detect: (f) => {
      const p = ahead.get(f.seq);
      ahead.delete(f.seq);
      return p ?? inner.detect(f);
    },
    close: () => inner.close(),
  };
  const stage = new CameraDetection({
    camera: o.camera,
    detector: () => lookahead,
    publish: (finding) => {
      const e = { ...visionEventBody(finding), at: new Date(finding.at).toISOString() };
      events.push(e);
      o.onEvent?.(e);
    },
    log: o.log,
    ...(o.sensors && { sensors: o.sensors }),
  });
  const window: Frame[] = [];
  const depth = Math.max(2, 2 * (('stats' in inner && (inner as { stats?: { workers: number } }).stats?.workers) || 2));
  let frames = 0;
  let lastTs = o.startAt;
  const process = async (f: Frame) => {
    await stage.onFrame(f, { reason: 'periodic', motion: { score: 0, motion: false } });
    if (stage.lastTiming) timings.push(stage.lastTiming);
  };
  const size = inner.inputSize;
  for await (const raw of readFrames(o.file, { width: size, height: size, fps: o.fps ?? 1, ...(o.maxFrames && { maxFrames: o.maxFrames }) })) {
    const f: Frame = { cameraId: o.camera.id, seq: raw.index, ts: o.startAt + raw.ptsMs, width: size, height: size, format: 'rgb24', data: raw.data };
    lastTs = f.ts;
    const p = inner.detect(f);
    p.catch(() => undefined); // observed by the stage when it takes this frame
    ahead.set(f.seq, p);
    window.push(f);
    frames++;
    if (window.length >= depth) await process(window.shift()!);
  }
  while (window.length) await process(window.shift()!);
  if (o.flush ?? true) await stage.tick(lastTs + (o.camera.profile.cooldownS + 1) * 1000);
  return { frames, events, timings, wallMs: performance.now() - t0, errors: stage.counters.errors };
}
