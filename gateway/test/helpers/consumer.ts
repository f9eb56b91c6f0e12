import mqtt, { type MqttClient } from 'mqtt';
import type { UplinkMessage } from '@gridgate/contract';
import { waitFor } from './net.js';

export interface Received {
  topic: string;
  retain: boolean;
  msg: UplinkMessage;
}

/** A central-side consumer: subscribes, parses and keeps everything it receives. */
export class Consumer {
  readonly received: Received[] = [];
  client!: MqttClient;

  static async connect(url: string, opts: mqtt.IClientOptions, filter: string): Promise<Consumer> {
    const c = new Consumer();
    // The handler is attached before the CONNACK: a resumed session's queued messages follow it at once.
    c.client = mqtt.connect(url, { reconnectPeriod: 500, ...opts });
    c.client.on('message', (topic, payload, packet) => {
      c.received.push({ topic, retain: packet.retain, msg: JSON.parse(payload.toString()) as UplinkMessage });
    });
    await new Promise<void>((resolve, reject) => {
      const settle = (err?: Error) => {
        c.client.off('connect', ok).off('end', ok).off('error', settle);
        if (!err) return resolve();
        c.client.end(true);
        reject(err);
      };
      const ok = () => settle();
      c.client.on('connect', ok).on('end', ok).on('error', settle);
    });
    await c.client.subscribeAsync(filter, { qos: 1 });
    return c;
  }

  of<T extends UplinkMessage['type']>(type: T): Array<Extract<UplinkMessage, { type: T }>> {
    return this.received.filter((r) => r.msg.type === type).map((r) => r.msg as Extract<UplinkMessage, { type: T }>);
  }

  waitFor<T extends UplinkMessage['type']>(type: T, pred: (m: Extract<UplinkMessage, { type: T }>) => boolean, what: string, timeoutMs = 15_000) {
    return waitFor(what, () => this.of(type).find(pred), timeoutMs);
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
