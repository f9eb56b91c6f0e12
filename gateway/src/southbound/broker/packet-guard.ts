/**
 * Reads only the fixed headers of the byte stream a connection hands the MQTT parser: a packet whose
 * declared length exceeds `maxBytes` ends the connection before its body is buffered (aedes has no such
 * limit). A plain scanner fed by the socket's own `read` (see EmbeddedBroker): a Transform stream and a
 * Duplex wrapper between socket and parser cost ~10 % of the gateway's CPU per message (bench:ingest).
 */
export class PacketSizeGuard {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(private readonly maxBytes: number) {}

  /** Follows the packets in `chunk`; returns the declared length of the first one over the limit, or 0. */
  scan(chunk: Buffer): number {
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
        if (this.length > this.maxBytes || (this.lengthBytes === 4 && b & 0x80)) return Math.max(this.length, this.maxBytes + 1);
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
    return 0;
  }
}
