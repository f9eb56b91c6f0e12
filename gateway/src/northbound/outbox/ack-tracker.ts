/**
 * Publishes leave in seq order; acknowledgements may come back in any order. The watermark is the last
 * seq up to which everything published has been acknowledged: rows at or below it may be deleted, and
 * a replay after a disconnect starts right after it.
 */
export class AckTracker {
  private order: number[] = [];
  private head = 0;
  private readonly done = new Set<number>();

  constructor(public watermark: number) {}

  sent(seq: number): void {
    this.order.push(seq);
  }

  /** Records an acknowledgement; returns how many messages the watermark moved over (0 if it did not move). */
  ack(seq: number): number {
    this.done.add(seq);
    let n = 0;
    while (this.head < this.order.length && this.done.has(this.order[this.head]!)) {
      const s = this.order[this.head++]!;
      this.done.delete(s);
      this.watermark = s;
      n++;
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    return n;
  }

  /** Published and not yet covered by the watermark. */
  get outstanding(): number {
    return this.order.length - this.head;
  }

  reset(watermark: number): void {
    this.watermark = watermark;
    this.order = [];
    this.head = 0;
    this.done.clear();
  }
}
