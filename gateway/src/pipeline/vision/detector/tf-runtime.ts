import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { DetectorError } from './types.js';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface TfRuntime {
  tf: typeof TF;
  backend: string;
  /** Why the preferred backend was not used, said once by the caller. */
  note?: string;
}

// Named through a variable: tfjs-node is an optional dependency and usually absent (it downloads a native
// library at install time, which fails without internet access).
const TFJS_NODE = '@tensorflow/tfjs-node';

/**
 * Loads tfjs with the chosen backend. auto: the native TensorFlow backend from @tensorflow/tfjs-node when it
 * is installed and loads, else WebAssembly (SIMD where the runtime has it; tfjs-wasm runs single-threaded
 * under Node, so parallelism comes from one worker thread per core instead).
 */
export async function loadTf(choice: BackendChoice): Promise<TfRuntime> {
  let note: string | undefined;
  if (choice === 'auto' || choice === 'tensorflow') {
    try {
      const tf = (await import(TFJS_NODE)) as typeof TF;
      await tf.setBackend('tensorflow');
      await tf.ready();
      return { tf, backend: 'tensorflow' };
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'is not installed' : `failed to load (${(e as Error).message.split('\n')[0]})`;
      if (choice === 'tensorflow') throw new DetectorError(`backend "tensorflow": @tensorflow/tfjs-node ${why}; install it or set vision.detector.backend to wasm`, 'backend');
      note = `@tensorflow/tfjs-node ${why}: using the wasm backend`;
    }
  }
  const tf = await import('@tensorflow/tfjs');
  tf.env().set('PROD', true); // no debug checks, no console banners from a worker thread
  const backend = choice === 'cpu' ? 'cpu' : 'wasm';
  try {
    if (backend === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const req = createRequire(import.meta.url);
      wasm.setWasmPaths(join(dirname(req.resolve('@tensorflow/tfjs-backend-wasm')), '/'));
    }
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs could not initialise the ${backend} backend`);
    await tf.ready();
  } catch (e) {
    throw new DetectorError(`backend "${backend}" failed to load: ${(e as Error).message ?? String(e)}`, 'backend');
  }
  return { tf, backend, ...(note && { note }) };
}
