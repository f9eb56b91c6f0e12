import { EventEmitter } from 'node:events';
import type { Publisher } from '../../src/northbound/mqtt-delivery.js';

export interface Published {
  topic: string;
  payload: string;
  seq: number;
  done: (err?: Error) => void;
}

/**
 * A Publisher whose acknowledgements the test hands out one by one, to drive the outbox's ordering,
 * replay and refusal logic deterministically. (Tests against a real broker live next to it.)
 */
export class ScriptedBroker extends EventEmitter implements Publisher {
  connected = false;
  receiveMaximum?: number;
  /** Everything published, in order, across connections. */
  readonly log: Published[] = [];
  /** Published and not yet answered. */
  pending: Published[] = [];

  publish(topic: string, payload: string, _qos: 0 | 1, _retain: boolean, done: (err?: Error) => void): void {
    const p = { topic, payload, seq: (JSON.parse(payload) as { seq: number }).seq, done };
    this.log.push(p);
    this.pending.push(p);
  }

  connect(): void {
    this.connected = true;
    this.emit('connect');
  }

  /** Like MqttUplink: 'offline' first, then every unanswered publish fails once. */
  disconnect(): void {
    this.connected = false;
    this.emit('offline');
    const p = this.pending;
    this.pending = [];
    for (const x of p) x.done(new Error('Message removed'));
  }

  ack(n = this.pending.length): void {
    const p = this.pending.splice(0, n);
    for (const x of p) x.done();
  }

  refuseNext(): void {
    const x = this.pending.shift()!;
    x.done(Object.assign(new Error('Publish error: Not authorized'), { code: 135 }));
  }
}

/** Lets pumps scheduled with setImmediate run. */
export const turn = () => new Promise<void>((r) => setImmediate(r));
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}
