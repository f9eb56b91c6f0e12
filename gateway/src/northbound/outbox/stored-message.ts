import type { DeliveryClass } from '../outbound.js';
import type { Lane } from './lanes.js';

/** One outbox row as the deliveries read it: its own file so the outbox, its readers and the deliveries share it without importing each other. */
export interface StoredMessage {
  seq: number;
  lane: Lane;
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: boolean;
  class: DeliveryClass;
  createdAt: number;
}
