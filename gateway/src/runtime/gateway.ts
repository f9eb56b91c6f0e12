import { redactUrl, uplinkTopics } from '@gridgate/contract';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { metricsRoutes } from '../local/api/metrics.js';
import { createApiServer, type ApiRoutes } from '../local/api/server.js';
import { statusRoutes } from '../local/api/status-routes.js';
import { AlarmEngine } from '../pipeline/alarms/alarm-engine.js';
import { AlarmStore } from '../pipeline/alarms/store.js';
import type { Codec } from '../profiles/codecs/codec.js';
import { builtinCodecs } from '../profiles/codecs/index.js';
import type { CameraInfo } from '../southbound/cameras/camera.js';
import { cameraRoutes } from '../southbound/cameras/routes.js';
import type { EvidenceStore } from '../southbound/cameras/evidence.js';
import { CameraStage } from '../southbound/cameras/stage.js';
import type { FrameConsumer } from '../southbound/cameras/types.js';
import type { LoadedConfig } from '../config/load.js';
import { Pipeline } from '../pipeline/decode/pipeline.js';
import type { RawUplink } from '../model/readings.js';
import { EmbeddedBroker } from '../southbound/broker/embedded-broker.js';
import { LnsConnection } from '../southbound/lns/lns-connection.js';
import { historyRoutes } from '../local/history/routes.js';
import { HistoryStore } from '../local/history/store.js';
import { MqttDelivery } from '../northbound/mqtt-delivery.js';
import { SqliteOutbox } from '../northbound/outbox/outbox.js';
import { SeqFloor } from '../northbound/outbox/seq-floor.js';
import { InfluxSink } from '../northbound/influx/influx-sink.js';
import { addEndpointDevices } from '../southbound/opcua/endpoint-device.js';
import { OpcuaSouthbound } from '../southbound/opcua/southbound.js';
import { openDatabase, type Db } from '../store/db.js';
import { salvageDatabase } from '../store/salvage.js';
import { VisionService } from '../pipeline/vision/service.js';
import { statusBody } from '../northbound/messages.js';
import { MqttUplink } from '../northbound/mqtt-uplink.js';
import { Stamper } from '../northbound/stamper.js';
import { VisionEventUplink } from '../northbound/vision-events.js';
import type { VisionEventListener } from '../model/vision-finding.js';
import { CommandRouter } from './commands.js';
import { buildDevices } from './devices.js';
import type { DeviceRegistry, GridResolver } from '../model/devices.js';
import { RejectCounter } from '../southbound/rejects.js';
import type { SourceDeps } from '../southbound/source.js';
import { EvidenceWriter } from '../pipeline/reports/evidence.js';
import { ReportManager } from '../pipeline/reports/manager.js';
import { reportsRoutes } from '../pipeline/reports/routes.js';
import { ReportStore } from '../pipeline/reports/store.js';
import { loadCodeTables } from '../pipeline/reports/codes.js';
import type { GatewaySnapshot } from '../local/api/snapshot.js';
import { dropMqttPacketNumberCache } from '../util/mqtt-packet.js';

export interface GatewayOptions {
  loaded: LoadedConfig;
  log: Logger;
  version: string;
  codecs?: ReadonlyMap<string, Codec>;
  resolveGrid?: GridResolver;
  /** Extra HTTP routes (history, console, ...) served next to status and metrics. */
  routes?: ApiRoutes[];
  /** Lets a request into /api/* without the bearer token (the console's session login). */
  authorize?: (req: FastifyRequest) => boolean;
  /** Called when the central side asks for a config reload: validates, then the host swaps the gateway. */
  onReloadRequest?: () => { ok: boolean; problems?: string };
  /** The detection stage's consumer of a camera's gated frames (none: frames are captured and gated only). */
  frameConsumer?: (camera: CameraInfo, ctx: { evidence: EvidenceStore }) => FrameConsumer;
}

const TICK_MS = 1000;
const SEEN_FLUSH_EVERY = 10; // ticks

/** The composition root: builds every stage from the config and wires the adapters at the edges. */
export class Gateway {
  readonly devices: DeviceRegistry;
  readonly pipeline: Pipeline;
  readonly engine: AlarmEngine;
  readonly outbox: SqliteOutbox;
  readonly delivery: MqttDelivery;
  readonly uplink: MqttUplink;
  readonly history?: HistoryStore;
  readonly influx?: InfluxSink;
  readonly commands: CommandRouter;
  readonly rejects: RejectCounter;
  readonly broker?: EmbeddedBroker;
  readonly lns: LnsConnection[] = [];
  readonly reports?: ReportManager;
  private readonly reportStore?: ReportStore;
  /** Detection for cameras (stalls, parking, dust); the camera stage takes its FrameConsumers from here. */
  readonly vision?: VisionService;
  readonly cameras: CameraStage;
  readonly opcua?: OpcuaSouthbound;
  ports: { port?: number; tlsPort?: number; api?: number } = {};
  private api?: FastifyInstance;
  readonly startedAt = Date.now();
  private readonly db: Db;
  private readonly historyDb?: Db;
  private readonly seqFloor: SeqFloor;
  private readonly alarmStore: AlarmStore;
  private readonly stamper: Stamper;
  private ticks = 0;

  get config() {
    return this.opts.loaded.config;
  }

  get profiles() {
    return this.opts.loaded.profiles;
  }

  /** The validated config with what it references (profiles, grid map, camera profiles). */
  get loaded(): LoadedConfig {
    return this.opts.loaded;
  }
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly opts: GatewayOptions) {
    const { config } = opts.loaded;
    const log = opts.log;
    dropMqttPacketNumberCache();
    const grids = opts.loaded.grids?.map;
    const resolveGrid: GridResolver | undefined = opts.resolveGrid ?? (grids && ((loc) => grids.lookup(loc)?.code));
    this.devices = buildDevices(config, opts.loaded.profiles, resolveGrid);
    addEndpointDevices(this.devices, config);
    const dataDir = config.gateway.dataDir;
    const salvage = (db: Db, r: { movedTo: string }) => salvageDatabase(r.movedTo, db, log);
    // One database for alarm state, report state and the outbox: report state commits with the message announcing it.
    // The outbox appends and reads each page about once: a small page cache does (16 MiB is better-sqlite3's default).
    this.db = openDatabase(dataDir, { synchronous: config.outbox.synchronous, cacheMb: 2, log, onDamaged: salvage });
    this.rejects = new RejectCounter(log);
    this.alarmStore = new AlarmStore(this.db);
    const rules = new Map([...this.devices.byId.values()].map((d) => [d.id, d.rules]));
    this.engine = new AlarmEngine(rules, this.alarmStore.load(), this.startedAt);
    const topics = uplinkTopics(config.uplink.topicPrefix, config.gateway.id);
    this.commands = new CommandRouter(log);
    this.uplink = new MqttUplink(config.uplink, config.uplink.clientId ?? config.gateway.id, {
      statusTopic: topics.status,
      cmdTopic: topics.cmd,
      birth: () => this.statusPayload('online'),
      will: () => this.statusPayload('offline', 'last-will'),
      onCommand: (payload, responseTopic) => void this.onCommand(payload, responseTopic),
    }, log);
    const ob = config.outbox;
    this.outbox = new SqliteOutbox(this.db, { synchronous: ob.synchronous, quotaBytes: ob.telemetry.quotaMb * 1024 * 1024, ttlMs: ob.telemetry.ttlH * 3_600_000, keepEvery: ob.telemetry.keepEvery, log });
    this.seqFloor = new SeqFloor(join(dataDir, 'seq-floor'));
    this.outbox.ensureSeqAtLeast(this.seqFloor.read());
    this.delivery = new MqttDelivery(this.outbox.destination('mqtt', ['priority', 'telemetry']), this.uplink, { window: ob.window, order: ob.order, log });
    if (config.influx) this.influx = new InfluxSink(config.influx, this.outbox.destination('influx', ['telemetry']), log);
    this.stamper = new Stamper(config.gateway.id, this.outbox);
    this.pipeline = new Pipeline({
      gatewayId: config.gateway.id,
      topicPrefix: config.uplink.topicPrefix,
      devices: this.devices,
      codecs: opts.codecs ?? builtinCodecs(),
      engine: this.engine,
      stamper: this.stamper,
      sink: this.outbox,
      rejects: this.rejects,
    });
    if (config.history.enabled) {
      this.historyDb = openDatabase(dataDir, { file: 'history.db', synchronous: 'NORMAL', cacheMb: 4, log, onDamaged: salvage });
      const history = (this.history = new HistoryStore(this.historyDb, config.history, log));
      this.pipeline.addListener({ telemetry: (d, u) => history.add(d.id, u.observedAt, u.metrics) });
    }
    if (config.reports.enabled) {
      this.reportStore = new ReportStore(this.db);
      this.reports = new ReportManager({
        cfg: config.reports,
        store: this.reportStore,
        sink: this.outbox,
        stamper: this.stamper,
        topic: topics.report,
        codes: opts.loaded.codes ?? loadCodeTables([]).table,
        ...(grids && { grids }),
        gridCodeLength: config.grids?.codeLength ?? 14,
        devices: this.devices,
        phaseOf: (d, r) => this.engine.phase(d, r),
        evidence: new EvidenceWriter(config.gateway.dataDir),
        timezone: config.gateway.timezone,
        log,
      });
      this.pipeline.addListener(this.reports);
      const reports = this.reports;
      this.commands.register('case.status', (cmd) => reports.caseStatus(cmd));
    }
    if (config.vision?.enabled) {
      // A finding goes out first, then to the reports stage (so the event's seq comes before its report's).
      const findings: VisionEventListener[] = [new VisionEventUplink({ stamper: this.stamper, sink: this.outbox, topic: topics.event })];
      if (this.reports) findings.push(this.reports);
      this.vision = new VisionService({
        config: config.vision,
        profiles: opts.loaded.cameraProfiles ?? new Map(),
        publish: (e) => findings.forEach((l) => l.visionEvent(e)),
        log,
        timezone: config.gateway.timezone,
        ...(config.gateway.site && { site: config.gateway.site }),
      });
      this.pipeline.addListener(this.vision.sensors);
    }
    const vision = this.vision;
    // Every southbound source delivers into the pipeline, counts its refusals and reports availability here.
    const source: SourceDeps = {
      accept: (raw, done) => this.ingest(raw, done),
      reject: (id, reason, detail) => this.rejects.reject(id, reason, detail),
      setAvailability: (id, state, at, reason) => this.pipeline.setAvailability(id, state, at, reason),
      log,
    };
    this.cameras = new CameraStage({
      ...source,
      gateway: config.gateway,
      cameras: config.cameras,
      video: config.video,
      ...(resolveGrid && { resolveGrid }),
      // Detection takes the gated frames of every camera and saves its evidence in the camera stage's store.
      ...((opts.frameConsumer || vision) && {
        consumerFor:
          opts.frameConsumer ??
          ((info, { evidence }) => {
            vision!.evidence ??= evidence;
            return vision!.forCamera({ id: info.id, gridId: info.gridId, location: info.location, zones: info.zones });
          }),
      }),
    });
    this.commands.register('snapshot.request', (cmd) => this.cameras.snapshotRequest(cmd.cameraId));
    this.commands.register('alarm.ack', (cmd) => {
      const t = this.engine.acknowledge(cmd.alarmId, cmd.by, Date.now());
      if (!t) throw new Error(`no active, unacknowledged alarm with id ${cmd.alarmId}`);
      this.pipeline.publishTransitions([t]);
      this.persistAlarms(false);
      return { alarmId: cmd.alarmId, state: 'acknowledged' };
    });
    if (opts.onReloadRequest) {
      this.commands.register('config.reload', () => {
        const r = opts.onReloadRequest!();
        if (!r.ok) throw new Error(`config refused, the running config stays:\n${r.problems}`);
        return { reloading: true };
      });
    }
    if (config.broker.enabled) {
      this.broker = new EmbeddedBroker(config.broker, {
        ...source,
        credentialsOf: (id) => {
          const d = this.devices.byId.get(id);
          if (!d || d.profile.transport !== 'mqtt-json') return undefined;
          return { ...(d.config.credentials && { passwordHash: d.config.credentials.passwordHash }) };
        },
      });
    }
    for (const l of config.lns) this.lns.push(new LnsConnection(l, { ...source, devices: this.devices }));
    if (config.opcua.endpoints.length) {
      const p = this.pipeline;
      this.opcua = new OpcuaSouthbound({ ...source, gateway: config.gateway, opcua: config.opcua, configFile: opts.loaded.file, devices: this.devices, heartbeat: (id, at) => p.heartbeat(id, at) });
      const opcua = this.opcua;
      p.addListener({ alarm: (d, t) => opcua.alarmChanged(d.id, t.rule.rule.id, t.state, t.at) });
    }
  }

  /** Southbound entry: processes one uplink and calls back once what it produced is durable. */
  ingest(raw: RawUplink, done: (err?: Error) => void): void {
    try {
      this.pipeline.accept(raw);
    } catch (e) {
      this.opts.log.error({ device: raw.deviceId, err: (e as Error).stack }, 'pipeline failed on one message');
    }
    this.persistAlarms(false);
    this.outbox.whenDurable(done);
  }

  async start(): Promise<void> {
    this.outbox.start();
    this.delivery.start();
    this.influx?.start();
    this.history?.start();
    this.uplink.start();
    if (this.broker) {
      await this.broker.start();
      this.ports = { ...this.broker.ports };
    }
    const apiCfg = this.opts.loaded.config.api;
    if (apiCfg.enabled) {
      const ack = (alarmId: string, by: string) => {
        const t = this.engine.acknowledge(alarmId, by, Date.now());
        if (t) {
          this.pipeline.publishTransitions([t]);
          this.persistAlarms(false);
        }
        return !!t;
      };
      const c = this.opts.loaded.config;
      const reportApi = this.reports && this.reportStore ? [reportsRoutes({ manager: this.reports, dataDir: c.gateway.dataDir, timezone: c.gateway.timezone, recent: (n) => this.reportStore!.recent(n) })] : [];
      this.api = createApiServer(apiCfg, this.opts.log, [statusRoutes({ snapshot: () => this.snapshot(), acknowledge: ack }), metricsRoutes(() => this.snapshot()), ...reportApi, ...this.historyRoutes(), cameraRoutes(() => this.cameras), ...(this.opts.routes ?? [])], { ...(this.opts.authorize && { authorize: this.opts.authorize }) });
      await this.api.listen({ port: apiCfg.port, host: apiCfg.host });
      const a = this.api.server.address();
      this.ports.api = typeof a === 'object' && a ? a.port : apiCfg.port;
    }
    for (const l of this.lns) await l.start();
    await this.cameras.start();
    // Not awaited: loading the model takes seconds, and a detector that fails must not stop the gateway.
    void this.vision?.start();
    await this.opcua?.start();
    this.timers.push(setInterval(() => this.tick(), TICK_MS));
    const statusEvery = this.opts.loaded.config.uplink.statusIntervalS * 1000;
    this.timers.push(setInterval(() => this.publishStatus(), statusEvery));
    for (const t of this.timers) t.unref();
    this.opts.log.info({ gateway: this.opts.loaded.config.gateway.id, devices: this.devices.byId.size, ports: this.ports }, 'gateway started');
  }

  private historyRoutes(): ApiRoutes[] {
    const h = this.history;
    if (!h) return [];
    return [historyRoutes({ store: h, cfg: this.config.history, isDevice: (id) => this.devices.byId.has(id) })];
  }

  private tick(): void {
    const now = Date.now();
    try {
      this.pipeline.publishTransitions(this.engine.tick(now, (id) => this.sourceDown(id)));
      const slow = ++this.ticks % SEEN_FLUSH_EVERY === 0;
      this.persistAlarms(slow);
      if (slow) this.seqFloor.write(this.outbox.committedSeq);
      this.reports?.tick();
    } catch (e) {
      this.opts.log.error({ err: (e as Error).stack }, 'alarm tick failed');
    }
  }

  /** A device's silence says nothing while every source it could come through (LNS, OPC-UA endpoint) is down. */
  private sourceDown(deviceId: string): boolean {
    const d = this.devices.byId.get(deviceId);
    if (d && this.opcua?.holdOffline(d)) return true;
    if (!d?.config.lorawan || !this.lns.length) return false;
    const via = d.config.lorawan.lns;
    const candidates = this.lns.filter((l) => !via || l.id === via);
    return candidates.length > 0 && candidates.every((l) => !l.connected);
  }

  /** Alarm state goes into the outbox's next commit, with the messages that announce its transitions. */
  private persistAlarms(includeSeen: boolean): void {
    const states = this.engine.takeDirty(includeSeen);
    if (states.length) this.outbox.commitWith(() => this.alarmStore.save(states, Date.now()));
  }

  counters(): Record<string, number> {
    const o = this.outbox.stats();
    return {
      received: this.pipeline.counters.received,
      decoded: this.pipeline.counters.decoded,
      rejected: this.rejects.total,
      alarmTransitions: this.pipeline.counters.alarms,
      activeAlarms: this.engine.active().length,
      backlog: o.backlog,
      published: this.delivery.stats().acked,
      // The central side reconciles gaps in seq against these (telemetry removed under quota or TTL).
      thinned: o.thinned,
      expired: o.expired,
      dropped: o.dropped,
      devices: this.devices.byId.size,
      ...(this.reports && { reportsOpen: this.reports.openReports().length, reportsPublished: this.reports.counters.published, reportsRefused: this.reports.counters.rejected }),
      cameras: this.cameras.infos.size,
      camerasOnline: [...this.cameras.cameras.values()].filter((c) => c.isOnline).length,
      ...Object.fromEntries(Object.entries(this.rejects.byReason()).map(([r, n]) => [`rejected.${r}`, n ?? 0])),
    };
  }

  snapshot(): GatewaySnapshot {
    const now = Date.now();
    const c = this.config;
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      gatewayId: c.gateway.id,
      version: this.opts.version,
      startedAt: iso(this.startedAt),
      uptimeS: Math.round((now - this.startedAt) / 1000),
      uplink: { url: redactUrl(c.uplink.url), connected: this.uplink.connected, ...(this.uplink.lastError && { lastError: this.uplink.lastError }) },
      outbox: { ...this.outbox.stats(), ...this.delivery.stats(), order: c.outbox.order },
      ...(this.history && { history: this.history.stats() }),
      ...(this.influx && { sinks: { influx: this.influx.stats() } }),
      counters: this.counters(),
      rejects: this.rejects.byReason(),
      devices: [...this.devices.byId.values()].map((d) => {
        const latest = this.pipeline.latestOf(d.id);
        const online = this.pipeline.isOnline(d.id);
        return {
          id: d.id,
          ...(d.config.name && { name: d.config.name }),
          profile: d.profile.id,
          assetType: d.assetType,
          gridId: d.gridId,
          ...(online !== undefined && { online }),
          ...(latest && { lastSeen: iso(latest.at) }),
          metrics: latest?.metrics ?? {},
          rejects: this.rejects.forDevice(d.id),
          ...((r) => r && { lastReject: { at: iso(r.at), reason: r.reason, detail: r.detail } })(this.rejects.lastFor(d.id)),
        };
      }),
      alarms: this.engine.active().map(({ deviceId, rule, state }) => ({
        alarmId: state.active!.alarmId,
        deviceId,
        rule: rule.rule.id,
        severity: state.active!.severity,
        title: rule.rule.title,
        raisedAt: iso(state.active!.raisedAt),
        acknowledged: state.active!.acknowledged,
        occurrences: state.active!.occurrences,
        ...(state.active!.value !== undefined && { value: state.active!.value }),
        flapping: state.flapping,
      })),
      sources: [
        ...this.lns.map((l) => ({ id: l.id, kind: 'lns', connected: l.connected })),
        ...(this.opcua?.status() ?? []).map((e) => ({ id: e.id, kind: 'opcua', connected: e.state === 'up', ...(e.lastError && { lastError: e.lastError.message }) })),
      ],
      cameras: this.cameras.snapshot(),
    };
  }

  private statusPayload(state: 'online' | 'offline', reason?: string): string {
    const now = Date.now();
    const body = statusBody(state, this.opts.version, this.startedAt, now, state === 'online' ? this.counters() : {}, reason);
    return JSON.stringify(this.stamper.stampOutOfSequence(body, now));
  }

  private publishStatus(): void {
    if (!this.uplink.connected) return;
    this.uplink.publish(uplinkTopics(this.opts.loaded.config.uplink.topicPrefix, this.opts.loaded.config.gateway.id).status, this.statusPayload('online'), 1, true, () => {});
  }

  private async onCommand(payload: Buffer, responseTopic?: string): Promise<void> {
    const { config } = this.opts.loaded;
    const topics = uplinkTopics(config.uplink.topicPrefix, config.gateway.id);
    const body = await this.commands.handle(payload);
    // Replies stay under our own topic tree (least privilege): a replyTo elsewhere is ignored.
    const base = `${config.uplink.topicPrefix}/${config.gateway.id}/`;
    let requested: string | undefined = responseTopic;
    try {
      requested ??= (JSON.parse(payload.toString()) as { replyTo?: string }).replyTo;
    } catch {
      /* not JSON: the default reply topic */
    }
    const topic = requested?.startsWith(base) && !/[#+]/.test(requested) ? requested : topics.cmdReply;
    this.outbox.put({ topic, message: this.stamper.stamp(body), qos: 1, retain: false, class: 'reply' });
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.api?.close();
    await Promise.all(this.lns.map((l) => l.stop()));
    await this.vision?.stop();
    await this.cameras.stop();
    await this.opcua?.stop();
    await this.broker?.stop();
    this.persistAlarms(true);
    this.delivery.stop();
    await this.influx?.stop();
    this.outbox.close();
    this.seqFloor.write(this.outbox.committedSeq);
    this.history?.close();
    await this.uplink.stop(this.statusPayload('offline', 'shutdown'));
    this.db.close();
    this.historyDb?.close();
    this.opts.log.info('gateway stopped');
  }
}
