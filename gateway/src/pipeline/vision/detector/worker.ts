// Inference worker thread: owns one tfjs runtime and one copy of the model, answers one frame at a time.
import { parentPort, workerData } from 'node:worker_threads';
import type * as TF from '@tensorflow/tfjs';
import { decodeDetections } from './decode.js';
import { readModel, type ModelSpec } from './model.js';
import { loadTf, type BackendChoice } from './tf-runtime.js';
import { DetectorError } from './types.js';

export interface WorkerInit {
  spec: ModelSpec;
  backend: BackendChoice;
  minScore: number;
}
export type WorkerRequest = { id: number; data: Uint8Array; width: number; height: number };
export type WorkerReply =
  | { type: 'ready'; backend: string; loadMs: number; warmupMs: number; note?: string }
  | { type: 'fatal'; message: string; reason: DetectorError['reason'] }
  | { type: 'result'; id: number; detections: ReturnType<typeof decodeDetections>; inferMs: number }
  | { type: 'error'; id: number; message: string; reason: DetectorError['reason'] };

const port = parentPort!;
const init = workerData as WorkerInit;

async function main(): Promise<void> {
  let tf: typeof TF;
  let model: TF.GraphModel;
  let output: string | undefined;
  const size = init.spec.inputSize;
  try {
    const rt = await loadTf(init.backend);
    tf = rt.tf;
    const t0 = performance.now();
    const art = readModel(init.spec);
    try {
      model = await tf.loadGraphModel(tf.io.fromMemory(art as unknown as TF.io.ModelArtifacts));
    } catch (e) {
      throw new DetectorError(`model ${init.spec.json} could not be loaded by tfjs (corrupt?): ${(e as Error).message}`, 'model');
    }
    output = init.spec.output ?? model.outputs[model.outputs.length - 1]?.name;
    const loadMs = performance.now() - t0;
    const t1 = performance.now();
    const warm = tf.zeros([1, size, size, 3]);
    const o = model.execute(warm, output) as TF.Tensor;
    const shape = o.shape;
    o.dispose();
    warm.dispose();
    if (shape.length !== 3 || shape[2] !== 6) throw new DetectorError(`model ${init.spec.json}: output "${output}" has shape [${shape.join(', ')}], expected [1, N, 6] (x1, y1, x2, y2, score, class)`, 'model');
    port.postMessage({ type: 'ready', backend: rt.backend, loadMs, warmupMs: performance.now() - t1, ...(rt.note && { note: rt.note }) } satisfies WorkerReply);
  } catch (e) {
    const err = e instanceof DetectorError ? e : new DetectorError((e as Error).message ?? String(e), 'backend');
    port.postMessage({ type: 'fatal', message: err.message, reason: err.reason } satisfies WorkerReply);
    return;
  }
  port.on('message', (m: WorkerRequest) => {
    if (m.width !== size || m.height !== size || m.data.length !== size * size * 3) {
      port.postMessage({ type: 'error', id: m.id, reason: 'input', message: `frame is ${m.width}x${m.height} (${m.data.length} bytes); the detector needs ${size}x${size} rgb24 (${size * size * 3} bytes)` } satisfies WorkerReply);
      return;
    }
    try {
      const t0 = performance.now();
      const out = tf.tidy(() => model.execute(tf.tensor4d(Float32Array.from(m.data), [1, size, size, 3]), output) as TF.Tensor);
      const raw = out.dataSync();
      out.dispose();
      const detections = decodeDetections(raw, size, init.spec.classes, init.minScore);
      port.postMessage({ type: 'result', id: m.id, detections, inferMs: performance.now() - t0 } satisfies WorkerReply);
    } catch (e) {
      port.postMessage({ type: 'error', id: m.id, reason: 'worker', message: `inference failed: ${(e as Error).message}` } satisfies WorkerReply);
    }
  });
}

void main();
