import { LoginBackoff, type LoginLimits } from '../../util/login-backoff.js';

export interface LoginGuardOptions {
  freeFailures: number;
  maxBackoffMs: number;
  concurrentChecks: number;
  maxWaiting: number;
}

export interface LoginSummary {
  wrongPasswords: number;
  refusedUnchecked: number;
  addresses: string[];
  devices: string[];
}

// Keys are (address, configured device): bounded by the LAN, but an address sweep must not grow them without end.
const MAX_PAIRS = 4096;
// A run of wrong passwords is forgotten an hour after its last failure (or wait).
const FORGET_MS = 3_600_000;
const MAX_NAMED = 5;

/**
 * Device logins against password guessing. A password check is a full scrypt (16 MiB, tens to hundreds of ms
 * of CPU on libuv's shared worker threads): unlimited, a guesser slows every connected device's PUBACK.
 *  - Per (address, device), with the console's LoginBackoff: after `freeFailures` wrong passwords a login waits
 *    1 s, doubling with each further failure up to `maxBackoffMs`; while it waits, a login is refused without
 *    checking anything. One check per pair at a time: a burst of parallel guesses is one guess.
 *  - Overall: at most `concurrentChecks` checks run at once and `maxWaiting` wait for a turn; a login beyond
 *    that is refused at once ("server unavailable", the device retries) instead of queueing without end.
 * Also counts what it refused, for one summary log line a minute. Pure except for the promises of `turn`; the clock is injected.
 */
export class LoginGuard {
  private readonly backoff: LoginBackoff;
  private readonly limits: LoginLimits;
  private running = 0;
  private readonly queue: Array<() => void> = [];
  private summary: LoginSummary = { wrongPasswords: 0, refusedUnchecked: 0, addresses: [], devices: [] };

  constructor(
    private readonly o: LoginGuardOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.backoff = new LoginBackoff(now, MAX_PAIRS);
    this.limits = { maxFailures: o.freeFailures, delayMs: 1000, maxDelayMs: o.maxBackoffMs, windowMs: FORGET_MS };
  }

  /** Whether the pair's password may be checked now (then `finish` or `cancel` follows), or why not. */
  begin(address: string, device: string): { ok: true } | { ok: false; why: string } {
    const key = LoginBackoff.key(address, device);
    const wait = this.backoff.retryAfterS(key, this.limits);
    if (wait > 0) return this.refused(address, device, `${this.backoff.failures(key, this.limits)} wrong passwords for ${device} from ${address}: no check for ${wait} s`);
    if (!this.backoff.begin(key)) return this.refused(address, device, `a password check for ${device} from ${address} is already running`);
    return { ok: true };
  }

  /** Ends a check begun with `begin`: a failure extends the pair's wait, a success forgets the pair. */
  finish(address: string, device: string, ok: boolean): void {
    const key = LoginBackoff.key(address, device);
    this.backoff.done(key);
    if (ok) return this.backoff.succeed(key);
    this.backoff.fail(key, this.limits);
    this.summary.wrongPasswords++;
    this.name(address, device);
  }

  /** Ends a check begun with `begin` that never ran (no turn was free): neither a failure nor a success. */
  cancel(address: string, device: string): void {
    this.backoff.done(LoginBackoff.key(address, device));
  }

  /** A turn to run one password check: resolves with its release, or undefined when all turns and the queue are taken. */
  turn(): Promise<() => void> | undefined {
    const release = () => {
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    };
    if (this.running < this.o.concurrentChecks) {
      this.running++;
      return Promise.resolve(once(release));
    }
    if (this.queue.length >= this.o.maxWaiting) return undefined;
    return new Promise((res) => this.queue.push(() => res(once(release))));
  }

  /** Records a login refused without a check (busy or backed off) that `begin` did not already count. */
  refusedBusy(address: string, device: string): void {
    this.summary.refusedUnchecked++;
    this.name(address, device);
  }

  /** What happened since the last call (for a log line a minute), or undefined when nothing did. */
  takeSummary(): LoginSummary | undefined {
    const s = this.summary;
    this.summary = { wrongPasswords: 0, refusedUnchecked: 0, addresses: [], devices: [] };
    return s.wrongPasswords || s.refusedUnchecked ? s : undefined;
  }

  private refused(address: string, device: string, why: string): { ok: false; why: string } {
    this.refusedBusy(address, device);
    return { ok: false, why };
  }

  private name(address: string, device: string): void {
    const s = this.summary;
    if (s.addresses.length < MAX_NAMED && !s.addresses.includes(address)) s.addresses.push(address);
    if (s.devices.length < MAX_NAMED && !s.devices.includes(device)) s.devices.push(device);
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}
