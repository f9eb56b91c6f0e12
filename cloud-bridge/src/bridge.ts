import { redactUrl } from '@gridgate/contract';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { InboxCaseSystem } from './adapters/inbox.js';
import { Open311CaseSystem } from './adapters/open311.js';
import type { CaseSystem } from './adapters/types.js';
import { WebhookCaseSystem } from './adapters/webhook.js';
import { createApi } from './api.js';
import { caseFigures, type CaseFigures } from './cases.js';
import { CentralConnection, subscriptionFilters } from './central.js';
import type { BridgeConfig } from './config.js';
import { DeliveryWorker } from './deliveries.js';
import { Downlinker } from './downlinks.js';
import { Intake, type IntakeResult } from './intake.js';
import { bridgeMetrics } from './metrics.js';
import { openStore, type Db, type ReportRow } from './store.js';
import { CaseTracker } from './tracker.js';

export function createLogger(level: string): Logger {
  return pino({ level, base: { svc: 'gridgate-bridge' }, redact: { paths: ['password', 'secret', 'token', '*.password', '*.secret', '*.token', '*.apiKey'], censor: '[redacted]' } }, pino.destination({ dest: 2, sync: false }));
}

function caseSystemFor(cfg: BridgeConfig, db: Db): CaseSystem {
  const timeoutMs = cfg.delivery.timeoutMs;
  switch (cfg.delivery.adapter) {
    case 'webhook':
      return new WebhookCaseSystem({ ...cfg.webhook!, timeoutMs });
    case 'open311':
      return new Open311CaseSystem({ ...cfg.open311!, timeoutMs });
    case 'inbox':
      return new InboxCaseSystem(db, cfg.inbox);
  }
}

/** The composition root of one bridge instance: store, broker connection, intake, deliveries, status back, API. */
export class Bridge {
  readonly db: Db;
  readonly tracker: CaseTracker;
  readonly system: CaseSystem;
  readonly intake: Intake;
  readonly worker: DeliveryWorker;
  readonly downlinks: Downlinker;
  readonly central: CentralConnection;
  readonly messages: Record<IntakeResult, number> = { stored: 0, duplicate: 0, 'dead-letter': 0, reply: 0 };
  private api?: FastifyInstance;
  apiPort?: number;
  readonly startedAt = Date.now();

  constructor(
    readonly cfg: BridgeConfig,
    readonly log: Logger,
  ) {
    this.db = openStore(cfg.store.file);
    this.tracker = new CaseTracker(this.db, { forward: cfg.forward, topicPrefix: cfg.central.topicPrefix, log });
    this.system = caseSystemFor(cfg, this.db);
    this.worker = new DeliveryWorker(this.db, this.system, this.tracker, cfg.delivery, cfg.instanceId, log);
    this.intake = new Intake(this.db, this.tracker, { instanceId: cfg.instanceId, topicPrefix: cfg.central.topicPrefix, log, onStored: () => setImmediate(() => this.worker.pump()) });
    this.central = new CentralConnection(cfg.central, cfg.instanceId, (topic, payload) => {
      const result = this.intake.accept(topic, payload);
      this.messages[result]++;
    }, log);
    this.downlinks = new Downlinker(this.db, this.central, cfg.instanceId, log);
  }

  figures(now = Date.now()): CaseFigures {
    const since = now - this.cfg.stats.windowDays * 86_400_000;
    return caseFigures(this.db.prepare('SELECT * FROM reports WHERE first_seen >= ?').all(since) as ReportRow[], now);
  }

  private count(sql: string): number {
    return (this.db.prepare(sql).get() as { n: number }).n;
  }

  async start(): Promise<void> {
    this.worker.start();
    this.downlinks.start();
    this.central.start();
    if (this.cfg.api.enabled) {
      const metrics = bridgeMetrics({
        figures: () => this.figures(),
        messages: this.messages,
        deliveries: this.worker.counters,
        pendingDeliveries: () => this.worker.pending(),
        pendingDownlinks: () => this.downlinks.pending(),
        deadLetters: () => this.count('SELECT count(*) AS n FROM dead_letters'),
        connected: () => this.central.connected,
        adapter: this.system.name,
      });
      this.api = createApi({
        db: this.db,
        cfg: this.cfg,
        tracker: this.tracker,
        ...(this.system instanceof InboxCaseSystem && { inbox: this.system }),
        figures: () => this.figures(),
        stats: () => ({
          instanceId: this.cfg.instanceId,
          messages: this.messages,
          deliveries: { ...this.worker.counters, pending: this.worker.pending() },
          downlinks: { sent: this.downlinks.sent, pending: this.downlinks.pending() },
          deadLetters: this.count('SELECT count(*) AS n FROM dead_letters'),
        }),
        health: () => ({ ok: true, instanceId: this.cfg.instanceId, adapter: this.system.name, central: this.central.connected ? 'connected' : 'disconnected', uptimeS: Math.round((Date.now() - this.startedAt) / 1000) }),
        metrics,
        poke: () => this.worker.pump(),
      });
      await this.api.listen({ host: this.cfg.api.host, port: this.cfg.api.port });
      const a = this.api.server.address();
      this.apiPort = typeof a === 'object' && a ? a.port : this.cfg.api.port;
    }
    this.log.info(
      { instanceId: this.cfg.instanceId, central: redactUrl(this.cfg.central.url), subscriptions: subscriptionFilters(this.cfg.central), adapter: this.system.name, store: this.cfg.store.file, api: this.apiPort },
      'bridge started',
    );
  }

  async stop(): Promise<void> {
    this.downlinks.stop();
    await this.worker.stop();
    await this.central.stop();
    await this.api?.close();
    this.db.close();
    this.log.info('bridge stopped');
  }
}
