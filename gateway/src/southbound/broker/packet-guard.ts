import { Transform, type TransformCallback } from 'node:stream';

/**
 * Sits between a socket and the MQTT parser and reads only the fixed headers: a packet whose declared
 * length exceeds `maxBytes` ends the connection before its body is buffered (aedes has no such limit).
 */
export class PacketSizeGuard extends Transform {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onTooLarge: (declared: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'type') {
        i++;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else if (this.state === 'length') {
        const b = chunk[i++]!;
        this.length += (b & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if (this.length > this.maxBytes || (this.lengthBytes === 4 && b & 0x80)) {
          this.onTooLarge(this.length);
          return cb(new Error(`MQTT packet of ${this.length} bytes exceeds the limit of ${this.maxBytes}`));
        }
        if (!(b & 0x80)) {
          this.remaining = this.length;
          this.state = this.remaining ? 'body' : 'type';
        }
      } else {
        const n = Math.min(this.remaining, chunk.length - i);
        i += n;
        this.remaining -= n;
        if (!this.remaining) this.state = 'type';
      }
    }
    cb(null, chunk);
  }
}
