export interface LoginLimits {
  /** Wrong passwords that cost nothing; each one after them makes the next try wait. */
  maxFailures: number;
  /** The wait after the maxFailures-th wrong password; it doubles with each further one, up to maxDelayMs. */
  delayMs: number;
  maxDelayMs: number;
  /** A run of wrong passwords is forgotten this long after the last one (or after its wait, if later). */
  windowMs: number;
}

interface Run {
  failures: number;
  last: number;
  /** No password is checked for this key before this time. */
  until: number;
}

const DEFAULT_MAX_KEYS = 10_000;

/**
 * Slows password guessing per (address, user), for every login the gateway has (the console's admin, the
 * embedded broker's devices): after `maxFailures` wrong passwords each try waits 1 s, 2 s, 4 s … up to
 * `maxDelayMs` — a guesser gets a handful of tries a minute, and someone who mistyped waits seconds, not
 * minutes. Checked before the password is hashed, one check at a time per key, so a guesser can neither make
 * the gateway spend CPU on scrypt nor slip parallel guesses past the count. A success clears the key. Keys are
 * bounded (`maxKeys`, the oldest go first): an address sweep cannot grow it without end.
 */
export class LoginBackoff {
  private readonly runs = new Map<string, Run>();
  private readonly checking = new Set<string>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = DEFAULT_MAX_KEYS,
  ) {}

  static key(address: string, user: string): string {
    return `${address}\n${user}`;
  }

  /** 0 when a login for `key` may be tried now, else the seconds until it may. */
  retryAfterS(key: string, limits: LoginLimits): number {
    const r = this.current(key, limits);
    const t = this.now();
    return r && r.until > t ? Math.ceil((r.until - t) / 1000) : 0;
  }

  /** Wrong passwords in the key's current run (0 when none or forgotten). */
  failures(key: string, limits: LoginLimits): number {
    return this.current(key, limits)?.failures ?? 0;
  }

  /** Records a wrong password: how many come free before the waits start, and the wait now due (0: none). */
  fail(key: string, limits: LoginLimits): { remaining: number; retryAfterS: number } {
    const t = this.now();
    const r = this.current(key, limits) ?? { failures: 0, last: t, until: 0 };
    r.failures++;
    r.last = t;
    const over = r.failures - limits.maxFailures;
    if (over >= 0) r.until = t + Math.min(limits.maxDelayMs, limits.delayMs * 2 ** Math.min(over, 30));
    this.runs.delete(key); // re-inserted last: the oldest runs go first when the map is full
    this.runs.set(key, r);
    if (this.runs.size > this.maxKeys) this.prune(limits);
    return { remaining: Math.max(0, limits.maxFailures - r.failures), retryAfterS: this.retryAfterS(key, limits) };
  }

  succeed(key: string): void {
    this.runs.delete(key);
  }

  /** Claims the one password check `key` may have running; false while another is. Pair with `done`. */
  begin(key: string): boolean {
    if (this.checking.has(key)) return false;
    this.checking.add(key);
    return true;
  }

  done(key: string): void {
    this.checking.delete(key);
  }

  get size(): number {
    return this.runs.size;
  }

  private current(key: string, limits: LoginLimits): Run | undefined {
    const r = this.runs.get(key);
    if (r && this.now() - Math.max(r.last, r.until) >= limits.windowMs) {
      this.runs.delete(key);
      return undefined;
    }
    return r;
  }

  private prune(limits: LoginLimits): void {
    for (const key of [...this.runs.keys()]) this.current(key, limits);
    for (const key of this.runs.keys()) {
      if (this.runs.size <= this.maxKeys) break;
      this.runs.delete(key);
    }
  }
}
