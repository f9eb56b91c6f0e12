import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { DetectorConfig } from '../config.js';
import { COCO80 } from './coco.js';
import { DetectorError } from './types.js';

/** Where a detector's files are and how to read its output. Plain data: it crosses into worker threads. */
export interface ModelSpec {
  json: string;
  classes: string[];
  inputSize: number;
  output?: string;
}

/** A graph model read into memory (topology and one weight buffer), ready for tf.io.fromMemory. */
export interface ModelArtifacts {
  modelTopology: unknown;
  weightSpecs: Array<{ name: string; shape: number[]; dtype: string; quantization?: { dtype: string } }>;
  weightData: ArrayBuffer;
  signature?: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
}

/** The built-in detector: CenterNet (MobileNetV3), COCO-80, 512×512, shipped in the @vladmandic/human package. */
export function builtinModel(): ModelSpec {
  const req = createRequire(import.meta.url);
  let main: string;
  try {
    main = req.resolve('@vladmandic/human');
  } catch {
    throw new DetectorError('the @vladmandic/human package is not installed, so the built-in CenterNet model is missing: run `npm install` in the gateway, or configure vision.detector.model', 'model');
  }
  return { json: resolve(dirname(main), '..', 'models', 'centernet.json'), classes: [...COCO80], inputSize: 512, output: 'tower_0/detections' };
}

export function modelSpec(cfg: DetectorConfig['model']): ModelSpec {
  return cfg ? { json: cfg.path, classes: cfg.classes, inputSize: cfg.inputSize, ...(cfg.output && { output: cfg.output }) } : builtinModel();
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

/**
 * Reads a tfjs graph model and its weight files into memory, checking what can be checked before tfjs sees
 * it: files exist, the JSON parses and is a graph model, and the weights have exactly the bytes the manifest
 * promises (a truncated or corrupt download is the usual failure).
 */
export function readModel(spec: ModelSpec): ModelArtifacts {
  if (!existsSync(spec.json)) throw new DetectorError(`model file not found: ${spec.json}`, 'model');
  let json: { format?: string; modelTopology?: unknown; weightsManifest?: Array<{ paths: string[]; weights: ModelArtifacts['weightSpecs'] }>; signature?: unknown };
  try {
    json = JSON.parse(readFileSync(spec.json, 'utf8')) as typeof json;
  } catch (e) {
    throw new DetectorError(`model file ${spec.json} is not valid JSON (corrupt or not a tfjs model): ${(e as Error).message}`, 'model');
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new DetectorError(`model file ${spec.json} is not a tfjs graph model (no modelTopology/weightsManifest)`, 'model');
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const buffers = json.weightsManifest.flatMap((g) =>
    g.paths.map((p) => {
      const f = join(dirname(spec.json), p);
      if (!existsSync(f)) throw new DetectorError(`weights file not found: ${f} (named by ${spec.json})`, 'model');
      return readFileSync(f);
    }),
  );
  const expected = specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * (BYTES[w.quantization?.dtype ?? w.dtype] ?? 4), 0);
  const total = buffers.reduce((s, b) => s + b.length, 0);
  if (total !== expected) {
    throw new DetectorError(`weights of ${spec.json} have ${total} bytes, the model expects ${expected}: the files are truncated or corrupt; reinstall them`, 'model');
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) {
    all.set(b, off);
    off += b.length;
  }
  return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: all.buffer, ...(json.signature !== undefined && { signature: json.signature }), ...(json.format && { format: json.format }) };
}
