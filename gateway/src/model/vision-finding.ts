import type { VisionEvent } from '@gridgate/contract';

/**
 * A camera finding as the detection stage reports it: the contract's event message before stamping, its
 * times in ms since the epoch. Northbound stamps it into the wire form (visionEventBody); the reports stage
 * takes the numbers as they are instead of parsing the stamped message's date strings back.
 */
export type VisionFinding = Omit<VisionEvent, 'id' | 'ts' | 'gatewayId' | 'seq' | 'v' | 'type' | 'startedAt' | 'endedAt'> & {
  startedAt: number;
  endedAt?: number;
  /** When the stage decided it: the stamped message's ts. */
  at: number;
};

/** What takes the detection stage's findings: northbound (to the central broker) and the reports stage. */
export interface VisionEventListener {
  visionEvent(e: VisionFinding): void;
}
