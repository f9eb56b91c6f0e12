import type { Location } from '@gridgate/contract';
import type { Logger } from 'pino';
import { FrameCapture, type CaptureStatus } from './capture.js';
import type { CaptureInput } from './capture-args.js';
import type { CaptureProblem } from './capture-problems.js';
import type { CameraConfig } from './config.js';
import type { FfmpegInfo } from './ffmpeg.js';
import { MotionGate } from './motion.js';
import { PrivacyMasker } from './privacy.js';
import type { Frame, FrameConsumer } from './types.js';
import type { ResolvedZone } from './zones.js';

/** What the detection stage (and evidence, and the console) know about a camera. */
export interface CameraInfo {
  id: string;
  name?: string;
  gridId: string;
  location: Location;
  zones: ResolvedZone[];
  config: CameraConfig;
}

export interface CameraCounters {
  frames: number;
  /** Frames the gate passed to detection, by reason. */
  motion: number;
  periodic: number;
  /** Frames the gate passed while detection was still busy with an earlier one (dropped, never queued). */
  skippedBusy: number;
  consumerErrors: number;
}

export interface CameraSnapshot {
  id: string;
  name?: string;
  gridId: string;
  state: CaptureStatus['state'] | 'disabled';
  online?: boolean;
  since: string;
  problem?: { kind: string; message: string; detail?: string; at: string };
  stream?: CaptureStatus['stream'];
  nextAttemptAt?: string;
  lastFrameAt?: string;
  lastMotionScore?: number;
  counters: CameraCounters & { sessions: number; probes: number; failures: number; corruptEvents: number };
}

export interface CameraDeps {
  info: CameraInfo;
  ffmpeg: FfmpegInfo;
  resolveInput(): Promise<CaptureInput>;
  consumer: FrameConsumer;
  setAvailability(id: string, state: 'online' | 'offline', at: number, reason?: string): void;
  log: Logger;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One camera: capture → privacy masks → motion gate → the frame consumer (detection). Publishes the camera's
 * availability on changes only (offline once per outage, however many retries), keeps the latest frame for
 * snapshot requests, and never queues frames behind a busy consumer.
 */
export class Camera {
  readonly counters: CameraCounters = { frames: 0, motion: 0, periodic: 0, skippedBusy: 0, consumerErrors: 0 };
  latest?: Frame;
  private readonly capture: FrameCapture;
  private readonly masker: PrivacyMasker;
  private readonly gate: MotionGate;
  private online?: boolean;
  private busy = false;
  private lastScore?: number;
  private lastConsumerErrorLog = 0;

  constructor(private readonly deps: CameraDeps) {
    const c = deps.info.config;
    const { width, height } = c.input;
    this.masker = new PrivacyMasker(c.privacyMasks.map((m) => m.polygon), width, height);
    this.gate = new MotionGate(c.motion, width, height);
    this.capture = new FrameCapture(
      { cameraId: c.id, ffmpeg: deps.ffmpeg, resolveInput: deps.resolveInput, onFrame: (f) => this.onFrame(f), onStatus: (s) => this.onStatus(s), log: deps.log },
      { width, height, fps: c.fps },
      c.capture,
    );
  }

  get id(): string {
    return this.deps.info.id;
  }

  get info(): CameraInfo {
    return this.deps.info;
  }

  get status(): CaptureStatus {
    return this.capture.current;
  }

  get isOnline(): boolean {
    return this.online === true;
  }

  start(): void {
    this.capture.start();
  }

  stop(): Promise<void> {
    return this.capture.stop();
  }

  private onFrame(frame: Frame): void {
    this.counters.frames++;
    this.masker.apply(frame);
    this.latest = frame;
    const d = this.gate.check(frame);
    this.lastScore = d.motion.score;
    if (!d.pass) return;
    if (this.busy) {
      this.counters.skippedBusy++;
      return;
    }
    this.gate.notePassed(frame.ts);
    this.counters[d.pass]++;
    let r: void | Promise<void>;
    try {
      r = this.deps.consumer.onFrame(frame, { reason: d.pass, motion: d.motion });
    } catch (e) {
      this.consumerFailed(e as Error);
      return;
    }
    if (r && typeof (r as Promise<void>).then === 'function') {
      this.busy = true;
      (r as Promise<void>).then(
        () => (this.busy = false),
        (e: Error) => {
          this.busy = false;
          this.consumerFailed(e);
        },
      );
    }
  }

  private consumerFailed(e: Error): void {
    this.counters.consumerErrors++;
    const now = Date.now();
    if (now - this.lastConsumerErrorLog > 60_000) {
      this.lastConsumerErrorLog = now;
      this.deps.log.error({ camera: this.id, err: e.stack ?? e.message, errors: this.counters.consumerErrors }, 'camera: detection failed on a frame; the camera keeps streaming');
    }
  }

  private onStatus(s: CaptureStatus): void {
    if (s.state === 'streaming' && this.online !== true) {
      this.online = true;
      this.deps.log.info({ camera: this.id, stream: s.stream }, 'camera online');
      this.deps.setAvailability(this.id, 'online', s.since);
    } else if (s.state === 'retrying' && this.online !== false) {
      this.online = false;
      this.gate.reset();
      this.deps.setAvailability(this.id, 'offline', s.problem?.at ?? Date.now(), reasonOf(s.problem));
    }
  }

  snapshot(): CameraSnapshot {
    const s = this.capture.current;
    const c = this.capture.counters;
    const info = this.deps.info;
    return {
      id: info.id,
      ...(info.name && { name: info.name }),
      gridId: info.gridId,
      state: s.state,
      ...(this.online !== undefined && { online: this.online }),
      since: iso(s.since),
      ...(s.problem && { problem: { kind: s.problem.kind, message: s.problem.message, ...(s.problem.detail && { detail: s.problem.detail }), at: iso(s.problem.at) } }),
      ...(s.stream && { stream: s.stream }),
      ...(s.state === 'retrying' && s.nextAttemptAt && { nextAttemptAt: iso(s.nextAttemptAt) }),
      ...(this.latest && { lastFrameAt: iso(this.latest.ts) }),
      ...(this.lastScore !== undefined && { lastMotionScore: +this.lastScore.toFixed(4) }),
      counters: { ...this.counters, sessions: c.sessions, probes: c.probes, failures: c.failures, corruptEvents: c.corruptEvents },
    };
  }
}

/** The availability message's reason (≤ 200 characters in the contract). */
export function reasonOf(p?: CaptureProblem): string {
  return (p ? `${p.kind}: ${p.message}` : 'not streaming').slice(0, 200);
}
