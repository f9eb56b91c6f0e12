import type { Evidence } from '@gridgate/contract';
import type { Box, Point } from '../../../model/geometry.js';
import type { Frame } from '../../../southbound/cameras/types.js';

/** What evidence of an event shows: the boxes of the objects involved and the zone. */
export interface EvidenceRequest {
  boxes: Array<{ box: Box; label: string }>;
  zone: { id: string; polygon: Point[] };
  /** e.g. "illegal-stall 0501". */
  label: string;
}

/**
 * Stores evidence snapshots of a frame (annotated and clean, privacy masks applied) and returns their
 * references. The camera stage provides the store; detection only asks it.
 */
export interface EvidenceSink {
  save(frame: Frame, req: EvidenceRequest): Promise<Evidence[]>;
}
