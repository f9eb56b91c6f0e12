import mqtt, { type MqttClient } from 'mqtt';
import type { LnsConfig } from './config.js';
import { Rejection, type RawUplink } from '../../model/readings.js';
import type { DeviceRegistry } from '../../model/devices.js';
import { UNKNOWN_SOURCE } from '../rejects.js';
import { capText } from '../../util/cap.js';
import { readTlsFiles } from '../../util/tls.js';
import { redactUrl } from '@gridgate/contract';
import { EmptyUplink, LNS_FORMAT_NAMES, LNS_UPLINK_TOPICS, parseLnsUplink, type LnsFormat } from './formats.js';
import { mqttClientLog } from '../../util/log.js';
import type { Source, SourceDeps } from '../source.js';


/** Its availability is the connection's own (its devices' silence is explained by it). */
export interface LnsDeps extends SourceDeps {
  devices: DeviceRegistry;
}

/**
 * Subscribes to a LoRaWAN network server's MQTT integration (The Things Stack v3, ChirpStack v4 or v3) and
 * turns its uplinks into raw device uplinks. The PUBACK to the network server's broker is sent only
 * once the message is durable here (mqtt.js `handleMessage`), so a crash never loses an acknowledged uplink.
 */
export class LnsConnection implements Source {
  private client?: MqttClient;

  constructor(
    private readonly cfg: LnsConfig,
    private readonly deps: LnsDeps,
  ) {}

  get id(): string {
    return this.cfg.id;
  }

  private available?: boolean;
  /** The message forms seen on this connection. */
  private readonly formats = new Set<LnsFormat>();

  /** Publishes a change of the connection's availability (once per change, not per retry). */
  private setAvailable(up: boolean): void {
    if (this.available === up) return;
    this.available = up;
    this.deps.setAvailability(this.availabilityId, up ? 'online' : 'offline', Date.now(), up ? undefined : 'network-server broker unreachable');
  }

  /** The id its availability is published under: `lns-{id}`. */
  get availabilityId(): string {
    return `lns-${this.cfg.id}`;
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  async start(): Promise<void> {
    const topics = this.cfg.topics ?? [LNS_UPLINK_TOPICS[this.cfg.kind]];
    const c = (this.client = mqtt.connect(this.cfg.url, {
      clientId: `gridgate-lns-${this.cfg.id}-${Math.random().toString(16).slice(2, 8)}`,
      clean: true,
      reconnectPeriod: 5000,
      connectTimeout: 15_000,
      rejectUnauthorized: this.cfg.rejectUnauthorized,
      ...readTlsFiles(this.cfg.tls),
      ...(this.cfg.username && { username: this.cfg.username }),
      ...(this.cfg.password && { password: this.cfg.password }),
      log: mqttClientLog(),
    }));
    c.handleMessage = (packet, done) => {
      const topic = packet.topic;
      const text = typeof packet.payload === 'string' ? packet.payload : packet.payload.toString('utf8');
      const raw = this.toRaw(topic, text);
      if (!raw) return done();
      this.deps.accept(raw, (err) => done(err));
    };
    c.on('connect', () => {
      this.deps.log.info({ lns: this.cfg.id, url: redactUrl(this.cfg.url) }, 'LNS connected');
      this.setAvailable(true);
      c.subscribe(topics, { qos: 1 }, (err) => {
        if (err) this.deps.log.error({ lns: this.cfg.id, err: err.message }, 'LNS subscribe failed');
        else this.deps.log.info({ lns: this.cfg.id, topics }, 'LNS subscribed');
      });
    });
    c.on('error', (err) => this.deps.log.warn({ lns: this.cfg.id, err: err.message }, 'LNS connection error'));
    c.on('offline', () => {
      this.deps.log.warn({ lns: this.cfg.id }, 'LNS connection lost; retrying');
      this.setAvailable(false);
    });
  }

  /** Parses one LNS message; undefined (counted and logged) when it is not an uplink we can use. */
  toRaw(topic: string, text: string): RawUplink | undefined {
    const source = `lns:${this.cfg.id}`;
    try {
      const up = parseLnsUplink(this.cfg.kind, topic, text);
      if (!this.formats.has(up.format)) {
        // Once per form and connection: which form the network server sends (a ChirpStack v3 or v4 server).
        this.formats.add(up.format);
        this.deps.log.info({ lns: this.cfg.id, format: up.format }, `LNS uplinks in ${LNS_FORMAT_NAMES[up.format]} form`);
      }
      const device = this.deps.devices.byDevEui.get(up.devEui);
      if (!device || (device.config.lorawan?.lns && device.config.lorawan.lns !== this.cfg.id)) {
        // One shared row: DevEUIs of devices we do not know are the network server's (or a device's) choice.
        this.deps.reject(UNKNOWN_SOURCE, 'unknown-device', `DevEUI ${up.devEui} (${capText(up.deviceName ?? 'unnamed', 64)}) from ${source} is not configured on this gateway`);
        return undefined;
      }
      return {
        deviceId: device.id,
        source,
        receivedAt: Date.now(),
        ...(up.observedAt !== undefined && { observedAt: up.observedAt }),
        content: { kind: 'bytes', bytes: up.bytes, fPort: up.fPort },
      };
    } catch (e) {
      if (e instanceof EmptyUplink) return undefined; // MAC-only uplinks carry nothing for us: not an error
      if (e instanceof Rejection) {
        this.deps.reject(source, e.reason, `${capText(topic)}: ${e.message}`);
        return undefined;
      }
      this.deps.log.error({ lns: this.cfg.id, topic: capText(topic), err: capText(String((e as Error)?.message ?? e), 200) }, 'LNS message handling failed');
      return undefined;
    }
  }

  async stop(): Promise<void> {
    await this.client?.endAsync(false);
  }
}
