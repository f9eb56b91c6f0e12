import type { Lane } from './lanes.js';
import type { StoredMessage } from './stored-message.js';

/** What a destination needs of the outbox: its rows, and a word when delivery progressed. */
export interface OutboxRows {
  readRows(lane: Lane, after: number, limit: number): StoredMessage[];
  progressed(): void;
}

/**
 * One reader of the outbox (the MQTT uplink, the InfluxDB sink): reads lanes in seq order and reports
 * how far it has delivered. The outbox keeps a row until every destination reading its lane has it.
 */
export class Destination {
  /** Per lane: everything up to this seq is delivered. */
  readonly through = { priority: 0, telemetry: 0 } as Record<Lane, number>;
  /** Per lane: stored messages after `through` (this destination's backlog). */
  readonly pending = { priority: 0, telemetry: 0 } as Record<Lane, number>;
  /** Per lane: the last seq read into memory; rows in (through, readTo] are held and never thinned. */
  readonly readTo = { priority: 0, telemetry: 0 } as Record<Lane, number>;
  private readonly listeners: Array<(lane: Lane) => void> = [];

  constructor(
    readonly name: string,
    readonly lanes: readonly Lane[],
    private readonly outbox: OutboxRows,
  ) {}

  /** Stored messages of `lane` after `after`, oldest first. */
  read(lane: Lane, after: number, limit: number): StoredMessage[] {
    const rows = this.outbox.readRows(lane, after, limit);
    if (rows.length) this.readTo[lane] = Math.max(this.readTo[lane], rows[rows.length - 1]!.seq);
    // Reading from the watermark and finding less than a page is an exact count of the backlog.
    if (after === this.through[lane] && rows.length < limit) this.pending[lane] = rows.length;
    return rows;
  }

  /** Everything of `lane` up to `through` is delivered; `count` messages were covered by this step. */
  delivered(lane: Lane, through: number, count: number): void {
    if (through <= this.through[lane]) return;
    this.through[lane] = through;
    this.pending[lane] = Math.max(0, this.pending[lane] - count);
    if (this.readTo[lane] < through) this.readTo[lane] = through;
    this.outbox.progressed();
  }

  /** Nothing read is held in memory any more (disconnected, or a write failed): it may be thinned again. */
  release(): void {
    for (const l of this.lanes) this.readTo[l] = this.through[l];
  }

  /** `listener(lane)` runs after a commit added messages to a lane this destination reads. */
  onAppend(listener: (lane: Lane) => void): void {
    this.listeners.push(listener);
  }

  notify(lane: Lane): void {
    for (const l of this.listeners) l(lane);
  }
}
