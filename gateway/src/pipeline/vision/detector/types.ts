import type { Box } from '../../../model/geometry.js';
import type { Frame } from '../../../southbound/cameras/types.js';

/** One object the detector found in a frame. */
export interface Detection {
  label: string;
  classId: number;
  score: number;
  /** Normalized frame coordinates. */
  box: Box;
}

export interface DetectionResult {
  detections: Detection[];
  /** Time spent in the model itself (tensor in → boxes out), ms. */
  inferMs: number;
  /** Time from the request to the answer, including queueing and transfer, ms. */
  totalMs: number;
}

/** The one interface the rest of the gateway sees of object detection. */
export interface Detector {
  /** tensorflow | wasm | cpu: the tfjs backend that runs the model. */
  readonly backend: string;
  /** Square input size the frames must have. */
  readonly inputSize: number;
  detect(frame: Frame): Promise<DetectionResult>;
  close(): Promise<void>;
}

/** A problem the user has to fix (model files, backend, input): the message says what and where. */
export class DetectorError extends Error {
  constructor(message: string, readonly reason: 'model' | 'backend' | 'input' | 'busy' | 'closed' | 'worker') {
    super(message);
    this.name = 'DetectorError';
  }
}
