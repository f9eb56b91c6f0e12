import type { DeliveryClass } from '../outbound.js';

/**
 * Two lanes in the outbox. `priority` holds what a crew or the central side acts on (alarms, reports,
 * events, availability, command replies): never dropped. `telemetry` may be thinned under the disk quota
 * and expires after its time-to-live.
 */
export type Lane = 'priority' | 'telemetry';
export const LANES: readonly Lane[] = ['priority', 'telemetry'];

export function laneOf(c: DeliveryClass): Lane {
  return c === 'telemetry' ? 'telemetry' : 'priority';
}
