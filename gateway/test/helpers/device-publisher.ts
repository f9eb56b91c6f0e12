import mqtt, { type MqttClient } from 'mqtt';
import { sleep } from './net.js';

/**
 * A device on the gateway's embedded broker publishing numbered reports QoS 1. It reconnects by itself
 * when the gateway is killed under it; `acked` counts the reports the gateway acknowledged.
 */
export class DevicePublisher {
  acked = 0;
  private stopped = false;
  private loop?: Promise<void>;
  private client?: MqttClient;

  constructor(
    readonly id: string,
    private readonly port: number,
    private readonly password: string,
  ) {}

  /** `inflight` > 1 pipelines publishes (mqtt.js keeps their order); `count` stops after that many reports. */
  start(everyMs: number, payload: (k: number) => Record<string, unknown>, o: { inflight?: number; count?: number } = {}): void {
    const c = (this.client = mqtt.connect(`mqtt://127.0.0.1:${this.port}`, { clientId: this.id, username: this.id, password: this.password, reconnectPeriod: 200, connectTimeout: 3000 }));
    c.on('error', () => {}); // the gateway may be killed under it: it reconnects
    this.loop = (async () => {
      const pending = new Set<Promise<unknown>>();
      for (let k = 1; !this.stopped && k <= (o.count ?? Infinity); k++) {
        const p: Promise<unknown> = c.publishAsync(`devices/${this.id}/up`, JSON.stringify(payload(k)), { qos: 1 }).then(() => {
          this.acked++;
          pending.delete(p);
        });
        pending.add(p);
        if (pending.size >= (o.inflight ?? 1)) await Promise.race(pending);
        if (everyMs) await sleep(everyMs);
      }
      await Promise.all(pending);
    })();
  }

  /** Resolves once every report started has been acknowledged (or after 15 s). */
  finished(): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => (t = setTimeout(r, 15_000)));
    return Promise.race([this.loop ?? Promise.resolve(), timeout]).finally(() => clearTimeout(t));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.finished();
    this.client?.end(true);
  }
}
