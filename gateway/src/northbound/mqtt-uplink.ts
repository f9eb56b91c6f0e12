import { redactUrl } from '@gridgate/contract';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { UplinkConfig } from './config.js';
import { backoffDelay } from '../util/backoff.js';
import { readTlsFiles } from '../util/tls.js';
import type { Publisher } from './mqtt-delivery.js';
import { mqttClientLog } from '../util/log.js';

export interface UplinkHooks {
  /** Retained status payloads: the birth published on every connect, the death left as Last Will. */
  birth(): string;
  will(): string;
  statusTopic: string;
  cmdTopic: string;
  onCommand(payload: Buffer, responseTopic?: string, correlation?: Buffer): void;
}

/**
 * The MQTT 5 connection to the central broker: persistent session (commands sent while we were away
 * still arrive), retained birth / Last-Will status, reconnect with exponential backoff and jitter.
 */
export class MqttUplink extends EventEmitter implements Publisher {
  private client?: MqttClient;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private closing = false;
  private serverReceiveMaximum?: number;
  lastError?: string;

  constructor(
    private readonly cfg: UplinkConfig,
    private readonly clientId: string,
    private readonly hooks: UplinkHooks,
    private readonly log: Logger,
  ) {
    super();
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  get receiveMaximum(): number | undefined {
    return this.serverReceiveMaximum;
  }

  cork(): void {
    this.client?.stream?.cork?.();
  }

  uncork(): void {
    this.client?.stream?.uncork?.();
  }

  start(): void {
    const opts: IClientOptions = {
      clientId: this.clientId,
      protocolVersion: this.cfg.protocolVersion,
      clean: false,
      ...(this.cfg.protocolVersion === 5 && { properties: { sessionExpiryInterval: 7 * 24 * 3600 } }),
      keepalive: this.cfg.keepaliveS,
      // By default every PUBACK re-arms the keepalive timer (a new timer per message at 2,000 msg/s); a PINGREQ
      // once per keepalive on a busy link costs nothing, and its PINGRESP still detects a dead link.
      reschedulePings: false,
      reconnectPeriod: 0, // we reconnect ourselves, with backoff
      connectTimeout: 15_000,
      rejectUnauthorized: this.cfg.rejectUnauthorized,
      ...readTlsFiles(this.cfg.tls),
      ...(this.cfg.username && { username: this.cfg.username }),
      ...(this.cfg.password && { password: this.cfg.password }),
      log: mqttClientLog(),
      will: { topic: this.hooks.statusTopic, payload: Buffer.from(this.hooks.will()), qos: 1, retain: true },
    };
    const c = (this.client = mqtt.connect(this.cfg.url, opts));
    c.on('connect', (connack) => {
      this.attempt = 0;
      this.lastError = undefined;
      this.serverReceiveMaximum = connack.properties?.receiveMaximum;
      // Small QoS 1 packets and their PUBACKs: Nagle's algorithm would hold them back by tens of milliseconds.
      (c.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
      const rm = this.serverReceiveMaximum;
      this.log.info({ url: redactUrl(this.cfg.url), sessionPresent: connack.sessionPresent, ...(rm !== undefined && { receiveMaximum: rm }) }, 'uplink connected');
      // mosquitto announces 20 unless told otherwise: a backlog then drains at 20 messages per round trip.
      if (rm !== undefined && rm < 100) this.log.warn({ receiveMaximum: rm }, `uplink: the central broker accepts only ${rm} unacknowledged publishes at a time, which limits how fast a backlog drains (20 over a 50 ms link: 400 msg/s); raise its Receive Maximum (mosquitto: max_inflight_messages), see docs/durability.md`);
      c.publish(this.hooks.statusTopic, this.hooks.birth(), { qos: 1, retain: true });
      if (!connack.sessionPresent) {
        c.subscribe(this.hooks.cmdTopic, { qos: 1 }, (err) => {
          if (err) this.log.error({ err: err.message, topic: this.hooks.cmdTopic }, 'uplink: subscribing to commands failed');
        });
      }
      this.emit('connect');
    });
    c.on('message', (topic, payload, packet) => {
      if (topic !== this.hooks.cmdTopic) return;
      this.hooks.onCommand(payload, packet.properties?.responseTopic, packet.properties?.correlationData);
    });
    c.on('error', (err) => {
      this.lastError = err.message;
      this.log.warn({ url: redactUrl(this.cfg.url), err: err.message }, 'uplink error');
    });
    c.on('close', () => {
      if (this.closing) return;
      this.emit('offline');
      this.forgetUnacknowledged(c);
      const delay = backoffDelay(this.attempt++, this.cfg.reconnect.minMs, this.cfg.reconnect.maxMs);
      this.log.info({ inMs: delay }, 'uplink disconnected; reconnecting');
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        // A fresh Last Will each time: its timestamp says when we last connected.
        if (c.options.will) c.options.will.payload = Buffer.from(this.hooks.will());
        c.reconnect();
      }, delay);
    });
  }

  publish(topic: string, payload: string, qos: 0 | 1, retain: boolean, done: (err?: Error) => void): void {
    if (!this.client) return done(new Error('uplink not started'));
    this.client.publish(topic, payload, { qos, retain }, (err) => done(err ?? undefined));
  }

  /**
   * The outbox re-publishes everything unacknowledged after a reconnect, in order. mqtt.js would also
   * re-send its own copies (and `reconnect()` drops them while keeping their callbacks): make it forget
   * them, which runs each callback once with an error.
   */
  private forgetUnacknowledged(c: MqttClient): void {
    for (const [id, o] of Object.entries(c.outgoing)) {
      if (!o.volatile && o.cmd === 'publish') c.removeOutgoingMessage(Number(id));
    }
  }

  /**
   * Publishes the clean-shutdown status, waits for what is in flight to be acknowledged, then disconnects (the
   * broker then discards the Last Will). A broker that stops answering (frozen, or a link gone dead without a
   * reset) must not hold a stop or a config reload, which has already closed the local API: after `graceMs` the
   * connection is cut, unacknowledged messages stay in the outbox, and the broker's Last Will says offline.
   */
  async stop(finalStatus?: string, graceMs = STOP_GRACE_MS): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    const c = this.client;
    if (!c) return;
    const acknowledged = async () => {
      if (c.connected && finalStatus) {
        await new Promise<void>((res) => c.publish(this.hooks.statusTopic, finalStatus, { qos: 1, retain: true }, () => res()));
      }
      // mqtt.js's graceful end waits for this too, but with no end: a silent broker would hold it forever.
      while (c.connected && Object.keys(c.outgoing).length) await sleep(10);
      return Object.keys(c.outgoing).length === 0;
    };
    let timer: NodeJS.Timeout | undefined;
    const clean = await Promise.race([acknowledged(), new Promise<boolean>((res) => (timer = setTimeout(() => res(false), graceMs)))]);
    clearTimeout(timer);
    if (clean) return void (await c.endAsync(false));
    this.log.warn({ url: redactUrl(this.cfg.url), graceS: graceMs / 1000 }, 'uplink: the central broker did not acknowledge in time while stopping; closing the connection (its Last Will says offline; unacknowledged messages stay in the outbox)');
    this.forgetUnacknowledged(c);
    await c.endAsync(true);
  }
}

/** How long a stop waits for the central broker's acknowledgements before it cuts the connection. */
const STOP_GRACE_MS = 5_000;
