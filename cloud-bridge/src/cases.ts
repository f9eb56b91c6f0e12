import type { CaseStatus } from '@gridgate/contract';
import type { BridgeCaseStatus, ReportRow } from './store.js';

// Case figures the seeds measure (Yangjing: register in 5 min, dispatch in 15, result of a simple case in 1 h;
// Xuhui's 5 rates), computed from the bridge's case rows. Pure.

const RANK: Record<BridgeCaseStatus, number> = { pending: 0, reopened: 1, registered: 1, dispatched: 2, handled: 3, closed: 4, rejected: 4 };

/**
 * Does a status from the case system move this case forward? Statuses arrive from pollers, callbacks and
 * several bridge instances, possibly twice or late: only progress counts. After a reopen the case goes
 * round again (dispatched, handled, closed).
 */
export function advances(current: BridgeCaseStatus, next: CaseStatus): boolean {
  if (current === next) return false;
  return RANK[next] > RANK[current];
}

export interface CaseTimings {
  /** Discovery (the report's firstSeen) → registered (立案). */
  toRegisterS?: number;
  /** Registered → dispatched (派遣). */
  toDispatchS?: number;
  /** Discovery → first handled (处置). */
  toHandleS?: number;
  /** Discovery → closed (结案). */
  toCloseS?: number;
  onTime: { register?: boolean; dispatch?: boolean; handle?: boolean };
}

const secs = (ms: number) => Math.round(ms / 100) / 10;

export function caseTimings(r: ReportRow, now: number): CaseTimings {
  const onTime = (done: number | null, due: number): boolean | undefined => (done !== null ? done <= due : now > due ? false : undefined);
  return {
    ...(r.registered_at !== null && { toRegisterS: secs(r.registered_at - r.first_seen) }),
    ...(r.dispatched_at !== null && r.registered_at !== null && { toDispatchS: secs(r.dispatched_at - r.registered_at) }),
    ...(r.handled_at !== null && { toHandleS: secs(r.handled_at - r.first_seen) }),
    ...(r.closed_at !== null && { toCloseS: secs(r.closed_at - r.first_seen) }),
    onTime: {
      ...defined('register', onTime(r.registered_at, r.register_by)),
      ...defined('dispatch', onTime(r.dispatched_at, r.dispatch_by)),
      ...defined('handle', onTime(r.handled_at, r.result_by)),
    },
  };
}

function defined<K extends string>(k: K, v: boolean | undefined): Partial<Record<K, boolean>> {
  return v === undefined ? {} : ({ [k]: v } as Record<K, boolean>);
}

export interface Quantiles {
  n: number;
  p50?: number;
  p90?: number;
}

export interface CaseFigures {
  cases: number;
  byStatus: Record<string, number>;
  /** Shares 0..1, or null while nothing counts yet. */
  rates: {
    /** 立案及时率: registered by the deadline, among cases registered or past the deadline (rejected ones left out, as in every rate). */
    onTimeRegister: number | null;
    /** 派遣及时率. */
    onTimeDispatch: number | null;
    /** 处置及时率: handled by the result deadline, among cases handled or past it. */
    onTimeHandling: number | null;
    /** 结案率: closed among all cases (rejected ones left out). */
    closure: number | null;
    /** 返工率: cases reopened at least once among cases handled at least once. */
    rework: number | null;
  };
  timesS: { register: Quantiles; dispatch: Quantiles; close: Quantiles };
}

function quantiles(xs: number[]): Quantiles {
  if (!xs.length) return { n: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return { n: s.length, p50: q(0.5), p90: q(0.9) };
}

const share = (num: number, den: number): number | null => (den ? Math.round((num / den) * 10_000) / 10_000 : null);

export function caseFigures(rows: ReportRow[], now: number): CaseFigures {
  const byStatus: Record<string, number> = {};
  const t = rows.map((r) => caseTimings(r, now));
  for (const r of rows) byStatus[r.case_status] = (byStatus[r.case_status] ?? 0) + 1;
  // A rejected case (作废) is no one's work: left out of every rate.
  const live = rows.filter((r) => r.case_status !== 'rejected');
  const liveT = live.map((r) => caseTimings(r, now));
  const rate = (k: 'register' | 'dispatch' | 'handle') => {
    const judged = liveT.filter((x) => x.onTime[k] !== undefined);
    return share(judged.filter((x) => x.onTime[k]).length, judged.length);
  };
  const handled = rows.filter((r) => r.handled_count > 0);
  return {
    cases: rows.length,
    byStatus,
    rates: {
      onTimeRegister: rate('register'),
      onTimeDispatch: rate('dispatch'),
      onTimeHandling: rate('handle'),
      closure: share(live.filter((r) => r.case_status === 'closed').length, live.length),
      rework: share(handled.filter((r) => r.reopen_count > 0).length, handled.length),
    },
    timesS: {
      register: quantiles(t.flatMap((x) => (x.toRegisterS !== undefined ? [x.toRegisterS] : []))),
      dispatch: quantiles(t.flatMap((x) => (x.toDispatchS !== undefined ? [x.toDispatchS] : []))),
      close: quantiles(t.flatMap((x) => (x.toCloseS !== undefined ? [x.toCloseS] : []))),
    },
  };
}
