import { CONTRACT_VERSION, uuidv7, type UplinkMessage } from '@gridgate/contract';
import type { UplinkBody } from './messages.js';

/** Source of per-gateway sequence numbers; the durable outbox persists it with the messages. */
export interface Sequence {
  next(): number;
  /** The latest number handed out. */
  readonly currentSeq: number;
}

/** Adds the envelope (id, ts, gatewayId, seq, v) to a message body. */
export class Stamper {
  constructor(
    private readonly gatewayId: string,
    private readonly seq: Sequence,
  ) {}

  stamp(body: UplinkBody, now: number = Date.now()): UplinkMessage {
    return { id: uuidv7(now), ts: new Date(now).toISOString(), gatewayId: this.gatewayId, seq: this.seq.next(), v: CONTRACT_VERSION, ...body } as UplinkMessage;
  }

  /** Status messages describe the connection and stay outside the sequence: they repeat the latest seq. */
  stampOutOfSequence(body: UplinkBody, now: number = Date.now()): UplinkMessage {
    return { id: uuidv7(now), ts: new Date(now).toISOString(), gatewayId: this.gatewayId, seq: this.seq.currentSeq, v: CONTRACT_VERSION, ...body } as UplinkMessage;
  }
}
