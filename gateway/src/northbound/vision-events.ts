import type { VisionEventListener, VisionFinding } from '../model/vision-finding.js';
import { visionEventBody } from './messages.js';
import type { UplinkSink } from './outbound.js';
import type { Stamper } from './stamper.js';

/** Northbound's side of camera findings: each is stamped into the contract's event message and put in the outbox. */
export class VisionEventUplink implements VisionEventListener {
  constructor(
    private readonly d: {
      stamper: Stamper;
      sink: UplinkSink;
      /** The event topic of one camera. */
      topic: (cameraId: string) => string;
    },
  ) {}

  visionEvent(e: VisionFinding): void {
    this.d.sink.put({ topic: this.d.topic(e.cameraId), message: this.d.stamper.stamp(visionEventBody(e), e.at), qos: 1, retain: false, class: 'event' });
  }
}
