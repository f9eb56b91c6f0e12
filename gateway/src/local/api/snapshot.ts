import type { RejectReason } from '../../model/readings.js';
import type { CanonicalMetric } from '../../model/readings.js';
import type { HistoryStats } from '../history/store.js';
import type { DeliveryStats } from '../../northbound/mqtt-delivery.js';
import type { OutboxStats } from '../../northbound/outbox/outbox.js';
import type { InfluxSinkStats } from '../../northbound/influx/influx-sink.js';
import type { CameraSnapshot } from '../../southbound/cameras/camera.js';

/** What the gateway looks like right now: for the status API, `gridgate status`, metrics and the console. */
export interface GatewaySnapshot {
  gatewayId: string;
  version: string;
  startedAt: string;
  uptimeS: number;
  uplink: { url: string; connected: boolean; lastError?: string };
  /** The outbox and its delivery to the central broker: backlog per lane, quota, time-to-live, thinning. */
  outbox: OutboxStats & DeliveryStats & { order: 'priority' | 'seq' };
  history?: HistoryStats;
  sinks?: { influx?: InfluxSinkStats };
  counters: Record<string, number>;
  rejects: Partial<Record<RejectReason, number>>;
  devices: DeviceSnapshot[];
  alarms: ActiveAlarmSnapshot[];
  sources: Array<{ id: string; kind: string; connected: boolean; lastError?: string }>;
  cameras?: CameraSnapshot[];
}

export interface DeviceSnapshot {
  id: string;
  name?: string;
  profile: string;
  assetType: string;
  gridId: string;
  online?: boolean;
  lastSeen?: string;
  metrics: Record<string, CanonicalMetric>;
  rejects: Partial<Record<RejectReason, number>>;
  lastReject?: { at: string; reason: RejectReason; detail: string };
}

export interface ActiveAlarmSnapshot {
  alarmId: string;
  deviceId: string;
  rule: string;
  severity: string;
  title: { zh: string; en: string };
  raisedAt: string;
  acknowledged: boolean;
  occurrences: number;
  value?: number | boolean | string;
  flapping: boolean;
}
