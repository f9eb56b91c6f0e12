import type { UplinkMessage } from '@gridgate/contract';

/** Delivery class: alarms and reports are never dropped; telemetry may be thinned under a disk quota. */
export type DeliveryClass = 'alarm' | 'report' | 'event' | 'telemetry' | 'status' | 'availability' | 'reply';

/** A stamped message bound for the central broker. */
export interface Outbound {
  topic: string;
  message: UplinkMessage;
  qos: 0 | 1;
  retain: boolean;
  class: DeliveryClass;
}

/** Where the pipeline puts messages for the central side. The outbox owns durability and delivery. */
export interface UplinkSink {
  put(msg: Outbound): void;
}
