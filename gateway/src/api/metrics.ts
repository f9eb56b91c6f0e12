import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { GatewaySnapshot } from '../runtime/snapshot.js';

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
    app.get('/metrics', async (_req, reply) => {
      current = undefined;
      const text = await registry.metrics();
      current = undefined;
      return reply.type(registry.contentType).send(text);
    });
  };
}
