import { randomBytes } from 'node:crypto';

export interface Session {
  id: string;
  /** Sent back in a header with every change made through the session (the cookie alone is not enough). */
  csrf: string;
  createdAt: number;
  lastSeen: number;
}

export interface SessionLimits {
  ttlMs: number;
  idleMs: number;
}

export type SessionLookup = { ok: true; session: Session } | { ok: false; reason: 'none' | 'expired' };

const MAX_SESSIONS = 1000;
/** How long an ended session is remembered, so that its cookie is answered with "expired" rather than "none". */
const REMEMBER_ENDED_MS = 24 * 3600_000;

/**
 * Console logins in memory (a restart logs everyone out, which is the safe direction). A session ends
 * after `ttlMs` whatever happens, or after `idleMs` without a request. Limits are read per call, so a
 * config reload applies to running sessions too.
 */
export class SessionStore {
  private readonly live = new Map<string, Session>();
  private readonly ended = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  create(): Session {
    const t = this.now();
    this.prune(t);
    if (this.live.size >= MAX_SESSIONS) {
      // The oldest goes: a flood of logins cannot grow memory without bound.
      const oldest = [...this.live.values()].sort((a, b) => a.lastSeen - b.lastSeen)[0]!;
      this.end(oldest.id);
    }
    const s: Session = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(24).toString('base64url'), createdAt: t, lastSeen: t };
    this.live.set(s.id, s);
    return s;
  }

  /** Finds a session and, when `touch`, counts this as activity. */
  get(id: string | undefined, limits: SessionLimits, touch = true): SessionLookup {
    if (!id) return { ok: false, reason: 'none' };
    const t = this.now();
    const s = this.live.get(id);
    if (!s) return { ok: false, reason: this.ended.has(id) ? 'expired' : 'none' };
    if (t - s.createdAt >= limits.ttlMs || t - s.lastSeen >= limits.idleMs) {
      this.end(id, t);
      return { ok: false, reason: 'expired' };
    }
    if (touch) s.lastSeen = t;
    return { ok: true, session: s };
  }

  /** When the session ends at the latest without further activity. */
  expiresAt(s: Session, limits: SessionLimits): number {
    return Math.min(s.createdAt + limits.ttlMs, s.lastSeen + limits.idleMs);
  }

  end(id: string, at = this.now()): void {
    if (this.live.delete(id)) this.ended.set(id, at);
  }

  get size(): number {
    return this.live.size;
  }

  private prune(t: number): void {
    for (const [id, at] of this.ended) if (t - at > REMEMBER_ENDED_MS || this.ended.size > MAX_SESSIONS * 10) this.ended.delete(id);
  }
}
