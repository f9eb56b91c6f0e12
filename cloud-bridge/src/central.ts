import { redactUrl } from '@gridgate/contract';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { BridgeConfig } from './config.js';

/** The subscriptions of one instance: reports and command replies of every gateway, shared in the group. */
export function subscriptionFilters(c: BridgeConfig['central']): string[] {
  const share = c.shareGroup ? `$share/${c.shareGroup}/` : '';
  return [`${share}${c.topicPrefix}/+/report`, `${share}${c.topicPrefix}/+/cmd/reply`];
}

/**
 * The connection to the central broker. Persistent session under a stable client id: while the instance
 * is down the broker keeps what the shared subscription routed to it, and hands it over on reconnect.
 * Every message is handled (stored) before its PUBACK goes out: mqtt.js acknowledges a QoS 1 message only
 * after `handleMessage` calls back, so a crash before that makes the broker send it again.
 */
export class CentralConnection {
  private client?: MqttClient;
  private closing = false;
  lastError?: string;

  constructor(
    private readonly cfg: BridgeConfig['central'],
    private readonly clientId: string,
    private readonly onMessage: (topic: string, payload: Buffer) => void,
    private readonly log: Logger,
  ) {}

  get connected(): boolean {
    return this.client?.connected === true;
  }

  start(): void {
    const c = this.cfg;
    const tls = c.tls ? Object.fromEntries(Object.entries(c.tls).filter(([, v]) => v).map(([k, v]) => [k, readFileSync(v!)])) : {};
    const opts: IClientOptions = {
      clientId: this.clientId,
      protocolVersion: c.protocolVersion,
      clean: false,
      ...(c.protocolVersion === 5 && { properties: { sessionExpiryInterval: c.sessionExpiryS, receiveMaximum: 64 } }),
      reconnectPeriod: 1000,
      connectTimeout: 15_000,
      keepalive: 30,
      rejectUnauthorized: c.rejectUnauthorized,
      ...tls,
      ...(c.username && { username: c.username }),
      ...(c.password && { password: c.password }),
    };
    const client = (this.client = mqtt.connect(c.url, opts));
    client.handleMessage = (packet, done) => {
      try {
        this.onMessage(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
        done();
      } catch (e) {
        // Not stored (disk full, database locked too long): no PUBACK. Drop the connection so the broker
        // sends it again after we reconnect.
        this.log.error({ topic: packet.topic, err: (e as Error).message }, 'could not store a message; reconnecting so the broker resends it');
        client.stream?.destroy();
      }
    };
    client.on('connect', (ack) => {
      this.lastError = undefined;
      this.log.info({ url: redactUrl(c.url), clientId: this.clientId, sessionPresent: ack.sessionPresent, share: c.shareGroup }, 'central broker connected');
      if (!ack.sessionPresent) {
        client.subscribe(subscriptionFilters(c), { qos: 1 }, (err, granted) => {
          if (err) this.log.error({ err: err.message }, 'subscribe failed');
          const refused = (granted ?? []).filter((g) => g.qos > 2);
          if (refused.length) this.log.error({ topics: refused.map((g) => g.topic) }, 'the broker refused a subscription (ACL? shared subscriptions supported?)');
        });
      }
    });
    client.on('error', (e) => {
      this.lastError = e.message;
      this.log.warn({ url: redactUrl(c.url), err: e.message }, 'central broker error');
    });
    client.on('close', () => {
      if (!this.closing) this.log.info('central broker connection closed; reconnecting');
    });
  }

  publish(topic: string, payload: string): Promise<void> {
    return new Promise((res, rej) => {
      if (!this.client?.connected) return rej(new Error('not connected to the central broker'));
      this.client.publish(topic, payload, { qos: 1 }, (err) => (err ? rej(err) : res()));
    });
  }

  async stop(): Promise<void> {
    this.closing = true;
    await this.client?.endAsync(false);
  }
}
