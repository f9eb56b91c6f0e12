import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { CaseFigures } from './cases.js';

export interface MetricsSource {
  figures(): CaseFigures;
  messages: Record<'stored' | 'duplicate' | 'dead-letter' | 'reply', number>;
  deliveries: { delivered: number; retried: number; dead: number; stale: number };
  pendingDeliveries(): number;
  pendingDownlinks(): number;
  deadLetters(): number;
  connected(): boolean;
  adapter: string;
}

/**
 * Prometheus metrics in a registry of this instance's own. Counters are this instance's; case figures,
 * queues and dead letters come from the shared store (the same on every instance).
 */
export function bridgeMetrics(src: MetricsSource): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gridgate_bridge_process_' });
  // One computation of the case figures per scrape (they read the store), not one per metric.
  let cached: { at: number; f: CaseFigures } | undefined;
  const fresh = () => {
    if (!cached || Date.now() - cached.at > 1000) cached = { at: Date.now(), f: src.figures() };
    return cached.f;
  };
  new Counter({
    name: 'gridgate_bridge_messages_total',
    help: 'Messages taken from the central broker by this instance, by outcome',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [result, n] of Object.entries(src.messages)) this.inc({ result }, n);
    },
  });
  new Counter({
    name: 'gridgate_bridge_deliveries_total',
    help: 'Delivery attempts to the case system by this instance, by outcome',
    labelNames: ['adapter', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [result, n] of Object.entries(src.deliveries)) this.inc({ adapter: src.adapter, result }, n);
    },
  });
  new Gauge({ name: 'gridgate_bridge_deliveries_pending', help: 'Report messages waiting for the case system', registers: [registry], collect() { this.set(src.pendingDeliveries()); } });
  new Gauge({ name: 'gridgate_bridge_downlinks_pending', help: 'Case status commands waiting for the central broker', registers: [registry], collect() { this.set(src.pendingDownlinks()); } });
  new Gauge({ name: 'gridgate_bridge_dead_letters', help: 'Messages kept as dead letters (invalid, or not deliverable)', registers: [registry], collect() { this.set(src.deadLetters()); } });
  new Gauge({ name: 'gridgate_bridge_central_connected', help: '1 while connected to the central broker', registers: [registry], collect() { this.set(src.connected() ? 1 : 0); } });
  new Gauge({
    name: 'gridgate_bridge_cases',
    help: 'Cases in the statistics window by case status',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [status, n] of Object.entries(fresh().byStatus)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'gridgate_bridge_case_rate',
    help: 'Case rates 0..1: on_time_register, on_time_dispatch, on_time_handling (处置及时率), closure (结案率), rework (返工率)',
    labelNames: ['rate'],
    registers: [registry],
    collect() {
      this.reset();
      const r = fresh().rates;
      const named: Record<string, number | null> = { on_time_register: r.onTimeRegister, on_time_dispatch: r.onTimeDispatch, on_time_handling: r.onTimeHandling, closure: r.closure, rework: r.rework };
      for (const [rate, v] of Object.entries(named)) if (v !== null) this.set({ rate }, v);
    },
  });
  new Gauge({
    name: 'gridgate_bridge_case_stage_seconds',
    help: 'Case step durations: register (discovery→立案), dispatch (立案→派遣), close (discovery→结案), by quantile',
    labelNames: ['stage', 'quantile'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [stage, q] of Object.entries(fresh().timesS)) {
        if (q.p50 !== undefined) this.set({ stage, quantile: '0.5' }, q.p50);
        if (q.p90 !== undefined) this.set({ stage, quantile: '0.9' }, q.p90);
      }
    },
  });
  return registry;
}
