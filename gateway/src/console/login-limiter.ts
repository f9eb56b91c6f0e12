/**
 * Refuses logins from an address after `maxFailures` wrong passwords within `windowMs` (a sliding window of
 * failure times per address). A success clears the address. Checked before the password is hashed, so a
 * guesser cannot make the gateway spend CPU on scrypt either.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** 0 when a login from `key` may be tried now, else the seconds until it may. */
  retryAfterS(key: string, limits: { maxFailures: number; windowMs: number }): number {
    const list = this.recent(key, limits.windowMs);
    if (list.length < limits.maxFailures) return 0;
    const oldestThatCounts = list[list.length - limits.maxFailures]!;
    return Math.max(1, Math.ceil((oldestThatCounts + limits.windowMs - this.now()) / 1000));
  }

  /** Records a wrong password; returns how many tries are left in the window. */
  fail(key: string, limits: { maxFailures: number; windowMs: number }): number {
    const list = this.recent(key, limits.windowMs);
    list.push(this.now());
    this.failures.set(key, list);
    if (this.failures.size > 10_000) this.sweep(limits.windowMs);
    return Math.max(0, limits.maxFailures - list.length);
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, windowMs: number): number[] {
    const t = this.now();
    return (this.failures.get(key) ?? []).filter((at) => t - at < windowMs);
  }

  private sweep(windowMs: number): void {
    for (const key of [...this.failures.keys()]) {
      const r = this.recent(key, windowMs);
      if (r.length) this.failures.set(key, r);
      else this.failures.delete(key);
    }
  }
}
