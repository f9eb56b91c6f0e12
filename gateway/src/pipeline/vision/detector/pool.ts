import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Frame } from '../../../southbound/cameras/types.js';
import type { ModelSpec } from './model.js';
import type { BackendChoice } from './tf-runtime.js';
import { DetectorError, type DetectionResult, type Detector } from './types.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker.js';

export interface PoolOptions {
  spec: ModelSpec;
  backend: BackendChoice;
  minScore: number;
  /** Default: one per CPU core. */
  workers?: number;
  /** Frames waiting beyond the ones being processed; more are refused as busy, never queued without bound. */
  maxQueue?: number;
  /** Told once per pool, e.g. that tfjs-node is missing and wasm is used. */
  onNote?: (note: string) => void;
}

export interface PoolInfo {
  backend: string;
  workers: number;
  /** Model load time per worker (read + parse + upload weights), ms. */
  loadMs: number[];
  warmupMs: number[];
}

interface Job {
  id: number;
  frame: Frame;
  queuedAt: number;
  resolve: (r: DetectionResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  w: Worker;
  job?: Job;
}

/**
 * Detector on worker threads, one model per thread, so inference never blocks the event loop. Frames go to
 * the first idle worker; a short bounded queue absorbs bursts. A worker that dies fails its frame and is
 * replaced; a pool whose model or backend cannot load fails `start()` with the reason.
 */
export class WorkerPoolDetector implements Detector {
  backend = 'unknown';
  readonly inputSize: number;
  private slots: Slot[] = [];
  private readonly all = new Set<Worker>();
  private queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private info?: PoolInfo;

  private constructor(private readonly o: PoolOptions) {
    this.inputSize = o.spec.inputSize;
  }

  static async start(o: PoolOptions): Promise<WorkerPoolDetector> {
    const p = new WorkerPoolDetector(o);
    const n = o.workers ?? Math.max(1, availableParallelism());
    try {
      const ready = await Promise.all(Array.from({ length: n }, () => p.spawn()));
      p.info = { backend: ready[0]!.backend, workers: n, loadMs: ready.map((r) => r.loadMs), warmupMs: ready.map((r) => r.warmupMs) };
      p.backend = ready[0]!.backend;
      const note = ready.find((r) => r.note)?.note;
      if (note) o.onNote?.(note);
    } catch (e) {
      await p.close();
      throw e;
    }
    return p;
  }

  get stats(): PoolInfo {
    return this.info!;
  }

  get busy(): number {
    return this.slots.filter((s) => s.job).length + this.queue.length;
  }

  private spawn(): Promise<Extract<WorkerReply, { type: 'ready' }>> {
    const init: WorkerInit = { spec: this.o.spec, backend: this.o.backend, minScore: this.o.minScore };
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
    const slot: Slot = { w };
    this.all.add(w);
    return new Promise((resolve, reject) => {
      let ready = false;
      w.on('message', (m: WorkerReply) => {
        if (m.type === 'ready') {
          if (this.closed) {
            void w.terminate();
            return reject(new DetectorError('detector is closed', 'closed'));
          }
          ready = true;
          this.slots.push(slot);
          resolve(m);
          this.pump();
        } else if (m.type === 'fatal') {
          void w.terminate();
          reject(new DetectorError(m.message, m.reason));
        } else this.finish(slot, m);
      });
      w.on('error', (e) => {
        if (!ready) reject(new DetectorError(`detector worker failed to start: ${e.message}`, 'worker'));
      });
      w.on('exit', (code) => {
        this.all.delete(w);
        if (!ready) return reject(new DetectorError(`detector worker exited (code ${code}) before it was ready`, 'worker'));
        this.slots = this.slots.filter((s) => s !== slot);
        slot.job?.reject(new DetectorError(`detector worker exited (code ${code}) while working on frame ${slot.job.frame.seq} of ${slot.job.frame.cameraId}`, 'worker'));
        slot.job = undefined;
        if (!this.closed) this.spawn().catch(() => this.failQueue(new DetectorError('no detector worker could be restarted', 'worker')));
      });
    });
  }

  detect(frame: Frame): Promise<DetectionResult> {
    if (this.closed) return Promise.reject(new DetectorError('detector is closed', 'closed'));
    const s = this.inputSize;
    if (frame.format !== 'rgb24' || frame.width !== s || frame.height !== s || frame.data.length !== s * s * 3) {
      return Promise.reject(new DetectorError(`frame ${frame.seq} of camera ${frame.cameraId} is ${frame.width}x${frame.height} ${frame.format} (${frame.data.length} bytes); the detector needs ${s}x${s} rgb24`, 'input'));
    }
    const idle = this.slots.filter((x) => !x.job).length;
    if (idle === 0 && this.queue.length >= (this.o.maxQueue ?? this.slots.length * 2)) {
      return Promise.reject(new DetectorError(`detector busy: ${this.queue.length} frames already waiting`, 'busy'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, frame, queuedAt: performance.now(), resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job) continue;
      const job = this.queue.shift();
      if (!job) return;
      slot.job = job;
      // A copy goes to the worker (transferred, not cloned twice): the caller keeps its frame buffer.
      const data = new Uint8Array(job.frame.data);
      slot.w.postMessage({ id: job.id, data, width: job.frame.width, height: job.frame.height } satisfies WorkerRequest, [data.buffer]);
    }
  }

  private finish(slot: Slot, m: Extract<WorkerReply, { type: 'result' | 'error' }>): void {
    const job = slot.job;
    slot.job = undefined;
    if (job && job.id === m.id) {
      if (m.type === 'result') job.resolve({ detections: m.detections, inferMs: m.inferMs, totalMs: performance.now() - job.queuedAt });
      else job.reject(new DetectorError(m.message, m.reason));
    }
    this.pump();
  }

  private failQueue(e: Error): void {
    for (const j of this.queue.splice(0)) j.reject(e);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failQueue(new DetectorError('detector is closed', 'closed'));
    const slots = this.slots.splice(0);
    for (const s of slots) s.job?.reject(new DetectorError('detector is closed', 'closed'));
    await Promise.all([...this.all].map((w) => w.terminate()));
  }
}
