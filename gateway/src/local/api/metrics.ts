import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SYNC_BUCKETS_S, type SyncTimesStats } from '../../northbound/outbox/sync-times.js';
import type { GatewaySnapshot } from './snapshot.js';

/** A Prometheus histogram whose buckets were counted elsewhere (the outbox counts its WAL syncs): read at scrape time. */
class CountedHistogram extends Histogram {
  constructor(
    private readonly metric: { name: string; help: string },
    registry: Registry,
    private readonly counted: () => SyncTimesStats | undefined,
  ) {
    super({ ...metric, buckets: [...SYNC_BUCKETS_S], registers: [registry] });
  }

  /** What the registry prints, and `get()` builds on (prom-client's own answers it from `observe()` calls). */
  async getForPromString() {
    const { name, help } = this.metric;
    const s = this.counted();
    // Cumulative, as Prometheus counts buckets; the last bound is +Inf (the syncs slower than every bound).
    let below = 0;
    const bounds: Array<number | string> = [...SYNC_BUCKETS_S, '+Inf'];
    const values = s
      ? [
          ...bounds.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le }, value: (below += s.counts[i] ?? 0) })),
          { metricName: `${name}_sum`, labels: {}, value: s.seconds },
          { metricName: `${name}_count`, labels: {}, value: s.syncs },
        ]
      : [];
    return { name, help, type: 'histogram' as const, aggregator: 'sum' as const, values };
  }
}

/**
 * Prometheus metrics computed from the gateway snapshot at scrape time, in a registry of this gateway's
 * own (no process-global registry).
 */
export function metricsRoutes(snapshot: () => GatewaySnapshot) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gridgate_process_' });
  let current: GatewaySnapshot | undefined;
  const fresh = () => (current ??= snapshot());
  const counter = (name: string, help: string, value: (s: GatewaySnapshot) => number) =>
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(value(fresh())); } });
  counter('gridgate_uplinks_received_total', 'Device uplinks received', (s) => s.counters.received ?? 0);
  counter('gridgate_uplinks_decoded_total', 'Device uplinks decoded into telemetry', (s) => s.counters.decoded ?? 0);
  counter('gridgate_alarm_transitions_total', 'Alarm lifecycle messages produced', (s) => s.counters.alarmTransitions ?? 0);
  counter('gridgate_uplink_published_total', 'Messages acknowledged by the central broker', (s) => s.outbox.acked);
  new Counter({
    name: 'gridgate_inputs_rejected_total',
    help: 'Refused inputs per device and reason',
    labelNames: ['device', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of fresh().devices) for (const [reason, n] of Object.entries(d.rejects)) this.inc({ device: d.id, reason }, n ?? 0);
    },
  });
  new Gauge({ name: 'gridgate_outbox_backlog', help: 'Messages waiting for the central broker', registers: [registry], collect() { this.set(fresh().outbox.backlog); } });
  new Gauge({
    name: 'gridgate_outbox_lane_backlog',
    help: 'Messages waiting for the central broker per lane (priority: alarms, reports, events, availability, replies)',
    labelNames: ['lane'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [lane, n] of Object.entries(fresh().outbox.lanes)) this.set({ lane }, n);
    },
  });
  const gauge = (name: string, help: string, value: (s: GatewaySnapshot) => number | undefined) =>
    new Gauge({ name, help, registers: [registry], collect() { this.reset(); const v = value(fresh()); if (v !== undefined) this.set(v); } });
  new CountedHistogram(
    {
      name: 'gridgate_outbox_wal_sync_seconds',
      help: 'Duration of the outbox write-ahead log syncs each acknowledgement waits for (outbox.synchronous FULL); slow syncs on an SD card foretell its failure',
    },
    registry,
    () => fresh().outbox.walSync,
  );
  gauge('gridgate_outbox_oldest_age_seconds', 'Age of the oldest message waiting for the central broker', (s) => (s.outbox.oldestAt ? Math.max(0, (Date.now() - Date.parse(s.outbox.oldestAt)) / 1000) : 0));
  gauge('gridgate_outbox_bytes', 'Disk in use by the state database holding the outbox', (s) => s.outbox.bytes);
  gauge('gridgate_outbox_quota_bytes', 'Outbox size beyond which telemetry is thinned', (s) => s.outbox.quotaBytes);
  gauge('gridgate_outbox_telemetry_ttl_seconds', 'Undelivered telemetry older than this is dropped', (s) => s.outbox.ttlS);
  gauge('gridgate_outbox_inflight', 'Messages published and awaiting the broker acknowledgement', (s) => s.outbox.inflight);
  counter('gridgate_outbox_thinned_total', 'Telemetry messages removed by thinning under the quota', (s) => s.outbox.thinned);
  counter('gridgate_outbox_expired_total', 'Telemetry messages dropped undelivered after their time-to-live', (s) => s.outbox.expired);
  counter('gridgate_outbox_dropped_total', 'Telemetry messages dropped oldest first under the quota', (s) => s.outbox.dropped);
  counter('gridgate_uplink_refused_total', 'Publishes the central broker refused (kept and retried)', (s) => s.outbox.refused);
  gauge('gridgate_influx_backlog', 'Telemetry messages waiting for InfluxDB', (s) => s.sinks?.influx?.backlog);
  counter('gridgate_influx_points_written_total', 'Points written to InfluxDB', (s) => s.sinks?.influx?.written ?? 0);
  counter('gridgate_influx_write_failures_total', 'Failed InfluxDB writes (retried from the outbox)', (s) => s.sinks?.influx?.failures ?? 0);
  gauge('gridgate_history_bytes', 'Disk in use by the local history', (s) => s.history?.bytes);
  new Gauge({ name: 'gridgate_uplink_connected', help: '1 while connected to the central broker', registers: [registry], collect() { this.set(fresh().uplink.connected ? 1 : 0); } });
  new Gauge({
    name: 'gridgate_alarms_active',
    help: 'Active alarms by severity',
    labelNames: ['severity'],
    registers: [registry],
    collect() {
      this.reset();
      for (const sev of ['critical', 'major', 'minor', 'warning']) this.set({ severity: sev }, fresh().alarms.filter((a) => a.severity === sev).length);
    },
  });
  new Gauge({
    name: 'gridgate_device_last_seen_seconds',
    help: 'Unix time of the last uplink per device',
    labelNames: ['device'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of fresh().devices) if (d.lastSeen) this.set({ device: d.id }, Date.parse(d.lastSeen) / 1000);
    },
  });
  new Gauge({
    name: 'gridgate_camera_online',
    help: '1 while a camera delivers frames',
    labelNames: ['camera'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of fresh().cameras ?? []) this.set({ camera: c.id }, c.online ? 1 : 0);
    },
  });
  new Counter({
    name: 'gridgate_camera_frames_total',
    help: 'Frames per camera: captured, and passed to detection by the motion gate (motion, periodic) or skipped while it was busy',
    labelNames: ['camera', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of fresh().cameras ?? []) {
        for (const kind of ['frames', 'motion', 'periodic', 'skippedBusy'] as const) this.inc({ camera: c.id, kind: kind === 'frames' ? 'captured' : kind }, c.counters[kind]);
      }
    },
  });
  new Counter({
    name: 'gridgate_camera_failures_total',
    help: 'Failed connection attempts and stream restarts per camera',
    labelNames: ['camera'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of fresh().cameras ?? []) this.inc({ camera: c.id }, c.counters.failures);
    },
  });
  return (app: FastifyInstance) => {
    // Public only under api.metricsPublic (createApiServer decides).
    app.get('/metrics', { config: { access: 'metrics' } }, async (_req, reply) => {
      current = undefined;
      const text = await registry.metrics();
      current = undefined;
      return reply.type(registry.contentType).send(text);
    });
  };
}
