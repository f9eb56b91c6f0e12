import type { HistoryConfig } from './config.js';

export const MINUTE = 60_000;

/** What to read for a history request. */
export interface HistoryPlan {
  from: number;
  to: number;
  /** 0: raw samples as recorded; otherwise buckets of this many ms (multiples of a minute read the 1-minute table). */
  stepMs: number;
  source: 'raw' | 'minute';
  metrics?: string[];
  note?: string;
}

export interface HistoryParams {
  from?: string;
  to?: string;
  step?: string;
  metric?: string;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: MINUTE, h: 3_600_000, d: 86_400_000 };

/** `30s`, `5m`, `1h`, `2d`, or plain seconds. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!);
}

/** ISO 8601, Unix milliseconds, `now`, or relative to now: `-6h`, `-30m`, `-2d`. */
export function parseTime(s: string, now: number): number | undefined {
  const t = s.trim();
  if (t === 'now') return now;
  if (t.startsWith('-')) {
    const d = parseDuration(t.slice(1));
    return d === undefined ? undefined : now - d;
  }
  if (/^\d{10,}$/.test(t)) return Number(t);
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A step that gives at most about `points` buckets over `span`, rounded up to a readable size. */
function autoStep(span: number, points: number): number {
  const nice = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400].map((s) => s * 1000);
  const want = span / points;
  return nice.find((n) => n >= want) ?? Math.ceil(want / 86_400_000) * 86_400_000;
}

/**
 * Turns query parameters into a plan, or an error a user can act on. Without a step: raw samples for
 * spans up to an hour, otherwise about 720 buckets. Steps under a minute read raw samples (kept
 * `rawRetentionH`); a minute or more reads the 1-minute means (kept `minuteRetentionD`).
 */
export function planHistory(p: HistoryParams, now: number, cfg: Pick<HistoryConfig, 'rawRetentionH' | 'minuteRetentionD' | 'maxPoints'>): HistoryPlan | { error: string } {
  const to = p.to === undefined ? now : parseTime(p.to, now);
  if (to === undefined) return { error: `to: "${p.to}" is not a time (ISO 8601, Unix ms, now, or -6h)` };
  const from = p.from === undefined ? to - 3_600_000 : parseTime(p.from, now);
  if (from === undefined) return { error: `from: "${p.from}" is not a time (ISO 8601, Unix ms, now, or -6h)` };
  if (from >= to) return { error: 'from must be before to' };
  const span = to - from;
  let stepMs: number;
  if (p.step === undefined || p.step === '') stepMs = span <= 3_600_000 ? 0 : autoStep(span, 720);
  else if (p.step === 'raw' || p.step === '0') stepMs = 0;
  else {
    const d = parseDuration(p.step);
    if (d === undefined || d <= 0) return { error: `step: "${p.step}" is not a duration (raw, 30s, 5m, 1h or seconds)` };
    stepMs = d;
  }
  const source = stepMs === 0 || stepMs < MINUTE ? 'raw' : 'minute';
  if (source === 'minute') stepMs = Math.ceil(stepMs / MINUTE) * MINUTE;
  if (stepMs > 0 && span / stepMs > cfg.maxPoints) {
    return { error: `step too small for this range: at most ${cfg.maxPoints} points per metric; use step ≥ ${Math.ceil(span / cfg.maxPoints / 1000)}s` };
  }
  const metrics = p.metric ? p.metric.split(',').map((m) => m.trim()).filter(Boolean) : undefined;
  const rawFrom = now - cfg.rawRetentionH * 3_600_000;
  const note =
    source === 'raw' && from < rawFrom
      ? `raw samples are kept ${cfg.rawRetentionH} h: ask with step=1m or more for older data`
      : source === 'minute' && from < now - cfg.minuteRetentionD * 86_400_000
        ? `1-minute means are kept ${cfg.minuteRetentionD} days`
        : undefined;
  return { from, to, stepMs, source, ...(metrics && { metrics }), ...(note && { note }) };
}
