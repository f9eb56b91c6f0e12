import type { Evidence } from '@gridgate/contract';
import type { EvidenceRequest } from '../../../model/evidence-request.js';
import type { Frame } from '../../../southbound/cameras/types.js';

/**
 * Stores evidence snapshots of a frame (annotated and clean, privacy masks applied) and returns their
 * references. The camera stage provides the store; detection only asks it.
 */
export interface EvidenceSink {
  save(frame: Frame, req: EvidenceRequest): Promise<Evidence[]>;
}
