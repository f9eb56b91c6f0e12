/** Types shared by the camera stages (capture → motion gate) and the detection stages (detect → track → zone rules). */
import type { Box } from '../../model/geometry.js';

/** One decoded frame, scaled to the detector's input size. */
export interface Frame {
  cameraId: string;
  /** Frame counter of this camera since its capture process started. */
  seq: number;
  /** Capture time, ms since the epoch. */
  ts: number;
  width: number;
  height: number;
  format: 'rgb24';
  /** width × height × 3 bytes, row-major. */
  data: Buffer;
}

export interface MotionResult {
  /** Share of changed pixels in the unmasked area, 0..1. */
  score: number;
  motion: boolean;
  /** Bounding boxes of changed areas, when computed. */
  regions?: Box[];
}

/** Why the gate passed a frame on to detection. */
export type GateReason = 'motion' | 'periodic';

/**
 * The detection stage implements this; the camera stage calls it for frames that pass the motion gate.
 * Returning a promise tells the camera stage the consumer is busy: frames arriving meanwhile are skipped
 * (counted), never queued without bound.
 */
export interface FrameConsumer {
  onFrame(frame: Frame, gate: { reason: GateReason; motion: MotionResult }): void | Promise<void>;
}
