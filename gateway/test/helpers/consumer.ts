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
    c.client = await mqtt.connectAsync(url, { reconnectPeriod: 500, ...opts });
    c.client.on('message', (topic, payload, packet) => {
      c.received.push({ topic, retain: packet.retain, msg: JSON.parse(payload.toString()) as UplinkMessage });
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
