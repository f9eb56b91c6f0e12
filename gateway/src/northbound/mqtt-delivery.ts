import type { Logger } from 'pino';
import { backoffDelay } from '../util/backoff.js';
import { AckTracker } from './outbox/ack-tracker.js';
import type { Destination } from './outbox/destination.js';
import { LANES, type Lane } from './outbox/lanes.js';
import type { StoredMessage } from './outbox/stored-message.js';

/** What delivery needs from the connection to the central broker. */
export interface Publisher {
  readonly connected: boolean;
  /** The broker's MQTT 5 Receive Maximum, when it sent one. */
  readonly receiveMaximum?: number;
  /**
   * Publishes; `done` runs on PUBACK (QoS 1) or when written (QoS 0), with an error if the broker refused
   * it or the connection closed first. Every call's `done` runs exactly once.
   */
  publish(topic: string, payload: string, qos: 0 | 1, retain: boolean, done: (err?: Error) => void): void;
  /** Optional: hold writes so a burst leaves in few TCP segments. */
  cork?(): void;
  uncork?(): void;
  on(event: 'connect' | 'offline', listener: () => void): void;
}

export interface DeliveryOptions {
  window: number;
  order: 'priority' | 'seq';
  pageSize?: number;
  log: Logger;
}

export interface DeliveryStats {
  inflight: number;
  sent: number;
  acked: number;
  refused: number;
}

/**
 * Publishes the outbox to the central broker, QoS 1, in seq order per lane, with up to `window` awaiting
 * PUBACK. It owns retransmission: on a disconnect everything after the acknowledged watermark is
 * published again, in order, after the reconnect (the uplink makes mqtt.js forget its own copies, so a
 * message is neither re-sent twice nor lost). Consumers dedupe by `id`; repeats are harmless, gaps are not.
 * With order `priority`, messages of the priority lane go before a telemetry backlog.
 */
export class MqttDelivery {
  private gen = 0;
  private inflight = 0;
  private pumping = false;
  private pumpQueued = false;
  private refusedAttempt = 0;
  private pausedUntil = 0;
  private pauseTimer?: NodeJS.Timeout;
  private stopped = false;
  private readonly cursor = { priority: 0, telemetry: 0 } as Record<Lane, number>;
  private readonly pages = { priority: [], telemetry: [] } as Record<Lane, StoredMessage[]>;
  private readonly exhausted = { priority: false, telemetry: false } as Record<Lane, boolean>;
  private readonly trackers: Record<Lane, AckTracker>;
  private readonly counters = { sent: 0, acked: 0, refused: 0 };

  constructor(
    private readonly dest: Destination,
    private readonly pub: Publisher,
    private readonly opts: DeliveryOptions,
  ) {
    this.trackers = { priority: new AckTracker(dest.through.priority), telemetry: new AckTracker(dest.through.telemetry) };
    this.rewind();
  }

  start(): void {
    this.pub.on('connect', () => {
      this.rewind();
      this.pump();
    });
    this.pub.on('offline', () => this.rewind());
    this.dest.onAppend((lane) => {
      this.exhausted[lane] = false;
      this.pumpSoon();
    });
    this.pump();
  }

  /** Forgets what is in memory and starts again right after the acknowledged watermark. */
  private rewind(): void {
    this.gen++;
    for (const lane of LANES) {
      this.cursor[lane] = this.dest.through[lane];
      this.pages[lane] = [];
      this.exhausted[lane] = false;
      this.trackers[lane].reset(this.dest.through[lane]);
    }
    this.dest.release();
  }

  private window(): number {
    const rm = this.pub.receiveMaximum;
    return rm ? Math.min(this.opts.window, rm) : this.opts.window;
  }

  /** Pumps once per event-loop turn: the acks that arrived together are answered in one write. */
  private pumpSoon(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  pump(): void {
    if (this.pumping || this.stopped || !this.pub.connected || Date.now() < this.pausedUntil) return;
    this.pumping = true;
    const window = this.window();
    this.pub.cork?.();
    try {
      while (this.pub.connected && this.inflight < window) {
        const row = this.next();
        if (!row) break;
        this.send(row);
      }
    } finally {
      this.pub.uncork?.();
      this.pumping = false;
    }
  }

  private head(lane: Lane): StoredMessage | undefined {
    if (!this.dest.lanes.includes(lane)) return undefined;
    if (!this.pages[lane].length && !this.exhausted[lane]) {
      const size = this.opts.pageSize ?? 256;
      this.pages[lane] = this.dest.read(lane, this.cursor[lane], size);
      if (this.pages[lane].length < size) this.exhausted[lane] = true;
    }
    return this.pages[lane][0];
  }

  private next(): StoredMessage | undefined {
    const p = this.head('priority');
    if (this.opts.order === 'priority' && p) return this.take('priority');
    const t = this.head('telemetry');
    if (p && (!t || p.seq < t.seq)) return this.take('priority');
    return t ? this.take('telemetry') : undefined;
  }

  private take(lane: Lane): StoredMessage {
    const row = this.pages[lane].shift()!;
    this.cursor[lane] = row.seq;
    return row;
  }

  private send(row: StoredMessage): void {
    const gen = this.gen;
    this.inflight++;
    this.counters.sent++;
    this.trackers[row.lane].sent(row.seq);
    this.pub.publish(row.topic, row.payload, row.qos, row.retain, (err) => this.done(gen, row, err));
  }

  private done(gen: number, row: StoredMessage, err?: Error): void {
    this.inflight--;
    if (gen !== this.gen) return; // from before a disconnect or a rewind: that row goes out again anyway
    if (err) {
      if (!this.pub.connected) return; // the connection closed: 'offline' rewinds
      // The broker refused it (an ACL, a quota): keep it, start again from the watermark after a pause.
      this.counters.refused++;
      const delay = backoffDelay(this.refusedAttempt++, 1000, 60_000);
      this.opts.log.error({ topic: row.topic, seq: row.seq, err: err.message, retryInMs: delay }, 'uplink: the central broker refused a message; it stays in the outbox and is retried (check the broker ACL for this gateway)');
      this.rewind();
      this.pausedUntil = Date.now() + delay;
      clearTimeout(this.pauseTimer);
      this.pauseTimer = setTimeout(() => this.pump(), delay);
      this.pauseTimer.unref();
      return;
    }
    this.refusedAttempt = 0;
    this.counters.acked++;
    const moved = this.trackers[row.lane].ack(row.seq);
    if (moved) this.dest.delivered(row.lane, this.trackers[row.lane].watermark, moved);
    this.pumpSoon();
  }

  stats(): DeliveryStats {
    return { inflight: this.inflight, ...this.counters };
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.pauseTimer);
  }
}
