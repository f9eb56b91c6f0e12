import type { Alarm, Availability, GatewayStatus, Telemetry, UplinkMessage, VisionEvent } from '@gridgate/contract';
import type { Transition } from '../pipeline/alarms/rule-lifecycle.js';
import type { DecodedUplink } from '../model/readings.js';
import type { Device } from '../model/devices.js';
import type { VisionFinding } from '../model/vision-finding.js';

/** Envelope fields the stamper adds (id, ts, gatewayId, seq, v). */
type EnvelopeKeys = 'id' | 'ts' | 'gatewayId' | 'seq' | 'v';
export type Body<T> = T extends unknown ? Omit<T, EnvelopeKeys> : never;
export type UplinkBody = Body<UplinkMessage>;

export const iso = (ms: number) => new Date(ms).toISOString();

function deviceFields(d: Device) {
  return {
    deviceId: d.id,
    gridId: d.gridId,
    location: d.location,
    componentCode: d.componentCode,
    assetType: d.assetType,
    ...(d.assetId && { assetId: d.assetId }),
  };
}

export function telemetryBody(d: Device, u: DecodedUplink): Body<Telemetry> {
  return { type: 'telemetry', ...deviceFields(d), profile: d.profile.id, observedAt: iso(u.observedAt), metrics: u.metrics };
}

export function alarmBody(d: Device, t: Transition): Body<Alarm> {
  const a = t.alarm;
  const rule = t.rule.rule;
  const metric = 'metric' in rule ? rule.metric : undefined;
  const unit = metric ? d.profile.metrics.find((m) => m.name === metric)?.unit : undefined;
  return {
    type: 'alarm',
    ...deviceFields(d),
    alarmId: a.alarmId,
    rule: rule.id,
    kind: rule.kind,
    state: t.state,
    severity: a.severity,
    title: rule.title,
    ...(metric && { metric }),
    ...(a.value !== undefined && { value: a.value }),
    ...(unit && { unit }),
    ...(a.limit !== undefined && { limit: a.limit }),
    ...(a.baseline !== undefined && { baseline: a.baseline }),
    raisedAt: iso(a.raisedAt),
    ...(a.acknowledgedAt !== undefined && { acknowledgedAt: iso(a.acknowledgedAt) }),
    ...(a.acknowledgedBy !== undefined && { acknowledgedBy: a.acknowledgedBy }),
    ...(t.state === 'cleared' && { clearedAt: iso(t.at) }),
    ...(t.flapping && { flapping: true }),
    occurrences: a.occurrences,
  };
}

export function availabilityBody(deviceId: string, state: 'online' | 'offline', lastSeen?: number, reason?: string): Body<Availability> {
  return { type: 'availability', deviceId, state, ...(lastSeen !== undefined && { lastSeen: iso(lastSeen) }), ...(reason && { reason }) };
}

/** The wire form of a camera finding: its times as ISO strings, in the order the contract lists them. */
export function visionEventBody(e: VisionFinding): Body<VisionEvent> {
  const { at: _at, startedAt, endedAt, ...rest } = e;
  return { type: 'event', ...rest, startedAt: iso(startedAt), ...(endedAt !== undefined && { endedAt: iso(endedAt) }) };
}

export function statusBody(state: 'online' | 'offline', version: string, startedAt: number, now: number, counters: Record<string, number>, reason?: string): Body<GatewayStatus> {
  return { type: 'status', state, ...(reason && { reason }), version, startedAt: iso(startedAt), uptimeS: Math.round((now - startedAt) / 1000), counters };
}
