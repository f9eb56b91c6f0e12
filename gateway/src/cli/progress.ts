// A small progress bar for long CLI operations (discovery, model warm-up, outbox drain, OPC-UA browse).
// On a terminal it redraws one line on stderr; elsewhere (logs, CI) it prints a plain line now and then, so
// that a pipe never fills with carriage returns.

export interface ProgressState {
  label: string;
  done: number;
  /** Unknown total: an indeterminate bar (a moving block) with the count. */
  total?: number;
  /** Free text after the bar (current item, rate). */
  detail?: string;
}

const FULL = '█';
const EMPTY = '░';

/** One line: `label [████░░░░] 42% 21/50 detail`, or a moving block when the total is unknown. Pure. */
export function renderBar(s: ProgressState, width = 24, tick = 0): string {
  let bar: string;
  let nums: string;
  if (s.total !== undefined && s.total > 0) {
    const f = Math.min(1, Math.max(0, s.done / s.total));
    const n = Math.round(f * width);
    bar = FULL.repeat(n) + EMPTY.repeat(width - n);
    nums = `${String(Math.floor(f * 100)).padStart(3)}% ${s.done}/${s.total}`;
  } else {
    const block = 4;
    const pos = tick % (width - block + 1);
    bar = EMPTY.repeat(pos) + FULL.repeat(block) + EMPTY.repeat(width - block - pos);
    nums = s.total === 0 ? 'done' : String(s.done);
  }
  return `${s.label} [${bar}] ${nums}${s.detail ? ` ${s.detail}` : ''}`;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Force the terminal (redrawn) or plain (line per update, at most every plainEveryMs) style. */
  tty?: boolean;
  plainEveryMs?: number;
  width?: number;
}

export class ProgressBar {
  private state: ProgressState;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly plainEveryMs: number;
  private lastPlain = 0;
  private tick = 0;
  private timer?: NodeJS.Timeout;
  private finished = false;

  constructor(label: string, total?: number, private readonly o: ProgressOptions = {}) {
    this.stream = o.stream ?? process.stderr;
    this.tty = o.tty ?? !!this.stream.isTTY;
    this.plainEveryMs = o.plainEveryMs ?? 5000;
    this.state = { label, done: 0, ...(total !== undefined && { total }) };
    if (this.tty) {
      // Indeterminate bars move on their own.
      this.timer = setInterval(() => {
        this.tick++;
        this.draw();
      }, 120);
      this.timer.unref();
    }
    this.draw(true);
  }

  update(done: number, o: { total?: number; detail?: string } = {}): void {
    this.state = { ...this.state, done, ...(o.total !== undefined && { total: o.total }), ...(o.detail !== undefined && { detail: o.detail }) };
    this.draw();
  }

  /** Elapsed-time progress for an operation whose end is known only as a deadline (e.g. a discovery timeout). */
  static timed(label: string, ms: number, o: ProgressOptions = {}): { stop(detail?: string): void } {
    const bar = new ProgressBar(label, Math.ceil(ms / 1000), o);
    const t0 = Date.now();
    const t = setInterval(() => bar.update(Math.min(Math.ceil(ms / 1000), Math.floor((Date.now() - t0) / 1000)), { detail: 's' }), 250);
    t.unref();
    return {
      stop: (detail?: string) => {
        clearInterval(t);
        bar.done(detail);
      },
    };
  }

  done(detail?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearInterval(this.timer);
    if (this.state.total !== undefined) this.state.done = this.state.total;
    if (detail !== undefined) this.state.detail = detail;
    if (this.tty) this.stream.write(`\r\x1b[2K${renderBar(this.state, this.o.width, this.tick)}\n`);
    else this.stream.write(`${renderBar(this.state, this.o.width, this.tick)}\n`);
  }

  private draw(force = false): void {
    if (this.finished) return;
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${renderBar(this.state, this.o.width, this.tick)}`);
      return;
    }
    const now = Date.now();
    if (!force && now - this.lastPlain < this.plainEveryMs) return;
    this.lastPlain = now;
    this.stream.write(`${renderBar(this.state, this.o.width, this.tick)}\n`);
  }
}
