import type { Box, Point } from './geometry.js';

/** An object of a finding: its box, and what it is when known. */
export interface EvidenceObject {
  box: Box;
  label?: string;
  score?: number;
}

/** A zone as the annotated image draws it. */
export interface ZoneShape {
  id: string;
  name?: string;
  polygon: readonly Point[];
}

/**
 * What the detection stage (a finding: its objects, zone and caption) or a snapshot request (all of a
 * camera's zones) asks the camera stage's evidence store to keep of one frame.
 */
export interface EvidenceRequest {
  /** The finding's objects: boxes (normalized), with labels and scores when known. */
  boxes?: ReadonlyArray<Box | EvidenceObject>;
  /** The zone the finding is in (drawn on the annotated image). */
  zone?: ZoneShape;
  /** More zones to draw (a snapshot shows all of a camera's zones). */
  zones?: readonly ZoneShape[];
  /** Caption: what was found, e.g. "illegal-stall 0504". */
  label?: string;
  /** Extra regions to blur, in addition to those derived from person and vehicle boxes. */
  blur?: readonly Box[];
}
