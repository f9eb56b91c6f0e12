/**
 * At most `perWindow` log lines per window (a minute by default), counting the lines it held back: a flood of
 * one kind (refused inputs, oversized packets) costs a bounded log, and a later line can say how many were left
 * out. Pure: the caller passes the time.
 */
export class LogBudget {
  private start = -Infinity;
  private used = 0;
  private held = 0;

  constructor(
    private readonly perWindow: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Whether a line may be written at `t`; one that may not is counted as held back. */
  admit(t: number): boolean {
    if (this.expired(t)) {
      this.start = t;
      this.used = 0;
    }
    if (this.used >= this.perWindow) {
      this.held++;
      return false;
    }
    this.used++;
    return true;
  }

  /** Whether the window that began with the first admitted line is over. */
  expired(t: number): boolean {
    return t - this.start >= this.windowMs;
  }

  /** How many lines were held back since the last call (then forgotten). */
  takeHeld(): number {
    const n = this.held;
    this.held = 0;
    return n;
  }

  get holding(): boolean {
    return this.held > 0;
  }
}
