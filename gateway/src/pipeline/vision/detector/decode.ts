import type { Box } from '../../../model/geometry.js';
import { iou } from '../../../model/geometry.js';
import type { Detection } from './types.js';

/**
 * Turns the model's [1, N, 6] output (x1, y1, x2, y2, score, class in input pixels) into detections in
 * normalized coordinates: low scores and unknown classes dropped, overlapping boxes of a class suppressed.
 */
export function decodeDetections(raw: ArrayLike<number>, inputSize: number, classes: readonly string[], minScore: number, iouMax = 0.5): Detection[] {
  const found: Detection[] = [];
  for (let i = 0; i + 5 < raw.length; i += 6) {
    const score = raw[i + 4]!;
    const cls = raw[i + 5]!;
    if (!(score >= minScore) || !Number.isInteger(cls) || cls < 0 || cls >= classes.length) continue;
    const c = (v: number) => Math.min(1, Math.max(0, v / inputSize));
    const box: Box = [c(raw[i]!), c(raw[i + 1]!), c(raw[i + 2]!), c(raw[i + 3]!)];
    if (box[2] <= box[0] || box[3] <= box[1]) continue;
    found.push({ label: classes[cls]!, classId: cls, score, box });
  }
  return nms(found, iouMax);
}

/** Greedy non-maximum suppression within each class. */
export function nms(dets: Detection[], iouMax: number): Detection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const d of sorted) if (!kept.some((k) => k.classId === d.classId && iou(k.box, d.box) > iouMax)) kept.push(d);
  return kept;
}
