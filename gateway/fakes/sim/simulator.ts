import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopics } from '@gridgate/contract';
import type { Codec } from '../../src/profiles/codecs/codec.js';
import { encodeFields } from '../../src/profiles/codecs/index.js';
import type { DeviceProfile } from '../../src/profiles/schema.js';
import { chirpStackV4Up, ttnV3Up } from './lns-messages.js';
import { simulatedMetrics, toRawFields } from '../../src/profiles/simulation.js';
import { activeFault, prng, type FaultWindow } from './scenario.js';

export interface SimulatedDevice {
  id: string;
  profile: DeviceProfile;
  devEui?: string;
  /** The device's parameter overrides (some codecs scale by them). */
  params?: Record<string, unknown>;
}

export interface SimulatorOptions {
  devices: SimulatedDevice[];
  codecs: ReadonlyMap<string, Codec>;
  /** The gateway's embedded broker, and each MQTT device's password. */
  brokerUrl: string;
  passwordOf(deviceId: string): string;
  /** Where LoRaWAN devices' uplinks appear: a network server's broker. */
  lns?: { url: string; kind: 'ttn-v3' | 'chirpstack-v4'; username?: string; password?: string };
  intervalMs: number;
  plan: FaultWindow[];
  seed?: number;
  onPublish?(deviceId: string, fault: string | undefined): void;
  onError?(deviceId: string, err: Error): void;
}

/** Realistic device traffic with faults, through the same paths real devices use. */
export class Simulator {
  private clients = new Map<string, MqttClient>();
  private lnsClient?: MqttClient;
  private timers: NodeJS.Timeout[] = [];
  private startedAt = 0;
  private fCnt = 0;
  private readonly previous = new Map<string, Record<string, number | boolean | string>>();
  private readonly random: () => number;
  published = 0;

  constructor(private readonly o: SimulatorOptions) {
    this.random = prng(o.seed ?? 1);
  }

  async start(): Promise<void> {
    this.startedAt = Date.now();
    const mqttDevices = this.o.devices.filter((d) => d.profile.transport === 'mqtt-json');
    const loraDevices = this.o.devices.filter((d) => d.profile.transport === 'lorawan');
    await Promise.all(
      mqttDevices.map(async (d) => {
        const c = await mqtt.connectAsync(this.o.brokerUrl, { clientId: d.id, username: d.id, password: this.o.passwordOf(d.id), reconnectPeriod: 2000, connectTimeout: 10_000 });
        c.on('error', (e) => this.o.onError?.(d.id, e));
        this.clients.set(d.id, c);
      }),
    );
    if (loraDevices.length) {
      if (!this.o.lns) throw new Error(`${loraDevices.length} LoRaWAN device(s) need a network-server broker to publish through (config lns[0])`);
      this.lnsClient = await mqtt.connectAsync(this.o.lns.url, {
        clientId: `gridgate-sim-lns-${process.pid}`,
        reconnectPeriod: 2000,
        ...(this.o.lns.username && { username: this.o.lns.username }),
        ...(this.o.lns.password && { password: this.o.lns.password }),
      });
    }
    // Spread devices over the interval so traffic is smooth, as it is from real sensors.
    this.o.devices.forEach((d, i) => {
      const offset = Math.floor((i / this.o.devices.length) * this.o.intervalMs);
      const t = setTimeout(() => {
        this.report(d);
        const iv = setInterval(() => this.report(d), this.o.intervalMs);
        this.timers.push(iv);
      }, offset);
      this.timers.push(t);
    });
  }

  private report(d: SimulatedDevice): void {
    const tS = (Date.now() - this.startedAt) / 1000;
    const fault = activeFault(this.o.plan, d.id, tS);
    const metrics = simulatedMetrics(d.profile, fault, this.random, this.previous.get(d.id));
    if (!metrics) return;
    this.previous.set(d.id, metrics);
    const raw = toRawFields(d.profile, metrics);
    try {
      if (d.profile.transport === 'mqtt-json') {
        this.clients.get(d.id)?.publish(deviceTopics.up(d.id), JSON.stringify(raw), { qos: 1 });
      } else {
        const codec = this.o.codecs.get(d.profile.codec ?? '');
        const encoded = codec && encodeFields(codec, raw, { ...d.profile.params, ...d.params });
        if (!encoded) throw new Error(`codec ${d.profile.codec} cannot encode`);
        const { bytes, fPort } = encoded;
        const input = { devEui: d.devEui!, deviceName: d.id, fPort, fCnt: ++this.fCnt, bytes, at: Date.now(), rssi: -70 - Math.round(this.random() * 40), snr: Math.round(this.random() * 100) / 10 };
        const m = this.o.lns!.kind === 'chirpstack-v4' ? chirpStackV4Up('gridgate-sim', input) : ttnV3Up('gridgate-sim', 'ttn', input);
        this.lnsClient?.publish(m.topic, m.payload, { qos: 1 });
      }
      this.published++;
      this.o.onPublish?.(d.id, fault);
    } catch (e) {
      this.o.onError?.(d.id, e as Error);
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await Promise.all([...this.clients.values()].map((c) => c.endAsync()));
    await this.lnsClient?.endAsync();
  }
}
