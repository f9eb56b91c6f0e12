import type { CaseStatus, Location, ReportStatus, Severity, Verification } from '@gridgate/contract';
import type { Category } from './codes.js';
import type { ReportsConfig } from './config.js';
import { isActive, type AlarmFacts, type AlarmPart, type EventPart, type ReportState } from './state.js';

// The report state machine. Pure: every function mutates only the state it is given (the caller owns and
// persists it) and says which status, if any, is to be published. No clock, no I/O.
//
//   new ─► update* ─► resolved ─► update (it came back) ...
//    └──── case handled ─► verifying ─► verified (closed)  |  reopened ─► case handled ─► verifying ...

type Text = { zh: string; en: string };

export interface Step {
  /** Publish the report with this status now. */
  emit?: ReportStatus;
}

/** What the report is about: a device's asset or a camera's zone, with where it is. */
export interface Subject {
  kind: 'device' | 'camera';
  id: string;
  zoneId?: string;
  name: Text;
  location: Location;
  gridId: string;
  address?: string;
  assetId?: string;
  category: Category;
}

export interface AlarmInput extends AlarmFacts {
  state: 'raised' | 'updated' | 'acknowledged' | 'cleared';
  at: number;
}

export interface EventInput {
  phase: 'start' | 'update' | 'end';
  at: number;
  eventId: string;
  eventType: string;
  rule: string;
  confidence: number;
  dwellS: number;
  startedAt: number;
  endedAt?: number;
  title?: Text;
  measurements?: Record<string, number>;
}

/** The key that keeps one open report per (asset or zone, category). */
export function reportKey(subject: Pick<Subject, 'kind' | 'id' | 'zoneId' | 'assetId' | 'category'>): string {
  const what = subject.kind === 'camera' ? `camera:${subject.id}/${subject.zoneId ?? '-'}` : subject.assetId ? `asset:${subject.assetId}` : `device:${subject.id}`;
  return `${what}|${subject.category.kind}:${subject.category.code}`;
}

export function deadlinesFrom(firstSeen: number, d: ReportsConfig['deadlines']): ReportState['deadlines'] {
  const registerBy = firstSeen + d.registerS * 1000;
  const dispatchBy = registerBy + d.dispatchS * 1000;
  return { registerBy, dispatchBy, resultBy: dispatchBy + d.resultS * 1000 };
}

function base(reportId: string, subject: Subject, at: number, cfg: ReportsConfig): ReportState {
  return {
    reportId,
    key: reportKey(subject),
    open: true,
    status: 'new',
    source: { kind: subject.kind, id: subject.id, ...(subject.zoneId && { zoneId: subject.zoneId }) },
    subject: subject.name,
    category: subject.category,
    gridId: subject.gridId,
    location: subject.location,
    ...(subject.address && { address: subject.address }),
    ...(subject.assetId && { assetId: subject.assetId }),
    alarms: [],
    events: [],
    evidence: [],
    firstSeen: at,
    lastSeen: at,
    occurrences: 1,
    deadlines: deadlinesFrom(at, cfg.deadlines),
    lastPublishedAt: at,
  };
}

function alarmPart(a: AlarmInput): AlarmPart {
  return {
    alarmId: a.alarmId,
    rule: a.rule,
    active: true,
    severity: a.severity,
    occurrences: a.occurrences,
    title: a.title,
    ...(a.metric !== undefined && { metric: a.metric }),
    ...(a.value !== undefined && { value: a.value }),
    ...(a.unit !== undefined && { unit: a.unit }),
    ...(a.limit !== undefined && { limit: a.limit }),
    ...(a.baseline !== undefined && { baseline: a.baseline }),
    raisedAt: a.at,
    windowS: a.windowS,
  };
}

/** A raised alarm with no open report for its key: a new report. */
export function newDeviceReport(reportId: string, subject: Subject, a: AlarmInput, cfg: ReportsConfig): ReportState {
  const s = base(reportId, subject, a.at, cfg);
  s.alarms.push(alarmPart(a));
  return s;
}

/** A vision event start with no open report for its zone and category: a new report. */
export function newCameraReport(reportId: string, subject: Subject, e: EventInput, cfg: ReportsConfig): ReportState {
  const s = base(reportId, subject, e.startedAt, cfg);
  s.lastSeen = e.at;
  s.events.push(eventPart(e));
  return s;
}

function eventPart(e: EventInput): EventPart {
  return {
    eventId: e.eventId,
    eventType: e.eventType,
    rule: e.rule,
    active: e.phase !== 'end',
    confidence: e.confidence,
    dwellS: e.dwellS,
    startedAt: e.startedAt,
    ...(e.endedAt !== undefined && { endedAt: e.endedAt }),
    ...(e.title && { title: e.title }),
    ...(e.measurements && { measurements: e.measurements }),
  };
}

function publish(s: ReportState, status: ReportStatus, at: number): Step {
  s.status = status;
  s.lastPublishedAt = at;
  delete s.pendingUpdate;
  return { emit: status };
}

/** A repeat or a change that is not a status change: merged, published at most every updateMinIntervalS. */
function mergedUpdate(s: ReportState, at: number, cfg: ReportsConfig): Step {
  if (s.lastPublishedAt === undefined || at - s.lastPublishedAt >= cfg.updateMinIntervalS * 1000) return publish(s, 'update', at);
  s.pendingUpdate = true;
  return {};
}

/** The finding came back while the case system is checking the fix: the fix did not hold. */
function reopen(s: ReportState, at: number, detail: Text): Step {
  const v = s.verify!;
  s.verification = verification(v, 'reopened', at, detail);
  delete s.verify;
  delete s.resolvedAt;
  return publish(s, 'reopened', at);
}

function verification(v: NonNullable<ReportState['verify']>, result: Verification['result'], at: number, detail: Text): Verification {
  return { method: v.method, result, handledAt: new Date(v.handledAt).toISOString(), checkedAt: new Date(at).toISOString(), windowS: v.windowS, detail };
}

/** Applies one alarm transition of a contributing rule to an open device report. */
export function applyAlarm(s: ReportState, a: AlarmInput, cfg: ReportsConfig): Step {
  if (!s.open) return {};
  const wasActive = isActive(s);
  let part = s.alarms.find((p) => p.alarmId === a.alarmId);
  switch (a.state) {
    case 'acknowledged':
      return {};
    case 'raised': {
      if (part) return {};
      // One entry per rule: a new occurrence of the same rule replaces the old, cleared one.
      s.alarms = s.alarms.filter((p) => p.rule !== a.rule);
      s.alarms.push(alarmPart(a));
      s.occurrences++;
      s.lastSeen = a.at;
      delete s.resolvedAt;
      if (s.verify && a.at >= s.verify.handledAt) {
        return reopen(s, a.at, { zh: `处置后传感器再次报警：${a.title.zh}`, en: `After the case was handled the sensor alarmed again: ${a.title.en}` });
      }
      return wasActive ? mergedUpdate(s, a.at, cfg) : publish(s, 'update', a.at);
    }
    case 'updated': {
      if (!part) {
        // Restarted gateway or rule tuned: adopt it.
        part = alarmPart(a);
        s.alarms.push(part);
      }
      const added = Math.max(0, a.occurrences - part.occurrences);
      part.occurrences = a.occurrences;
      part.severity = a.severity;
      if (a.value !== undefined) part.value = a.value;
      s.occurrences += added;
      s.lastSeen = a.at;
      if (s.verify && added > 0 && a.at >= s.verify.handledAt) {
        return reopen(s, a.at, { zh: `处置后异常再次出现：${a.title.zh}`, en: `After the case was handled the condition came back: ${a.title.en}` });
      }
      return added > 0 ? mergedUpdate(s, a.at, cfg) : {};
    }
    case 'cleared': {
      if (!part || !part.active) return {};
      part.active = false;
      part.clearedAt = a.at;
      if (a.value !== undefined) part.value = a.value;
      if (isActive(s)) return {};
      s.resolvedAt = a.at;
      // While verifying, the clear is progress, not news: the verdict follows.
      return s.verify ? {} : publish(s, 'resolved', a.at);
    }
  }
}

/** Applies one vision event of the report's zone and category. */
export function applyEvent(s: ReportState, e: EventInput, cfg: ReportsConfig): Step {
  if (!s.open) return {};
  const wasActive = isActive(s);
  let part = s.events.find((p) => p.eventId === e.eventId);
  s.lastSeen = Math.max(s.lastSeen, e.at);
  if (!part) {
    if (e.phase === 'end') return {};
    part = eventPart(e);
    s.events.push(part);
    s.occurrences++;
    delete s.resolvedAt;
    if (s.verify && e.startedAt >= s.verify.handledAt) {
      return reopen(s, e.at, { zh: '处置后摄像头在同一区域再次发现该问题', en: 'After the case was handled the camera found the problem in the same zone again' });
    }
    return wasActive ? mergedUpdate(s, e.at, cfg) : publish(s, 'update', e.at);
  }
  part.confidence = e.confidence;
  part.dwellS = e.dwellS;
  if (e.measurements) part.measurements = e.measurements;
  if (e.phase !== 'end') return part.active ? mergedUpdate(s, e.at, cfg) : {};
  part.active = false;
  part.endedAt = e.endedAt ?? e.at;
  if (isActive(s)) return {};
  s.resolvedAt = part.endedAt;
  return s.verify ? {} : publish(s, 'resolved', e.at);
}

export interface CaseStatusInput {
  status: CaseStatus;
  caseId?: string;
  at: number;
}

/** How the gateway will verify this report once the case is handled (computed by the caller from device and config). */
export interface VerifyPlan {
  method: 'sensor' | 'camera';
  windowS: number;
  /** Still abnormal this long after handled: reopened. */
  reopenAfterS: number;
  noEvidenceAfterS: number;
}

/**
 * The case system's status for this report. handled (or closed before the gateway verified) starts the
 * gateway's own check; rejected (作废) closes the report without a verdict.
 */
export function applyCaseStatus(s: ReportState, c: CaseStatusInput, plan: VerifyPlan): Step & { verifying: boolean } {
  if (c.caseId) s.caseId = c.caseId;
  s.caseStatus = c.status;
  if (!s.open) return { verifying: false };
  if (c.status === 'rejected') {
    s.open = false;
    delete s.verify;
    return { verifying: false };
  }
  if (c.status !== 'handled' && c.status !== 'closed') return { verifying: !!s.verify };
  if (s.verify) return { verifying: true };
  s.verify = {
    method: plan.method,
    handledAt: c.at,
    windowS: plan.windowS,
    reopenAt: c.at + plan.reopenAfterS * 1000,
    noEvidenceAt: c.at + plan.noEvidenceAfterS * 1000,
  };
  s.verification = verification(s.verify, 'pending', c.at, { zh: '案件已处置，网关正在核查', en: 'Case handled; the gateway is verifying' });
  return { verifying: true };
}

export type RulePhase = 'normal' | 'pending' | 'active';

/** What the gateway knows about the device right now, for a sensor verification. */
export interface SensorObservation {
  /** Phase of each contributing rule's condition in the alarm engine. */
  phaseOf(rule: string): RulePhase;
  /** Time of the device's latest sample (gateway clock). */
  lastSampleAt?: number;
}

const fmtS = (s: number) => (s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`);
const fmtZhS = (s: number) => (s >= 120 ? `${Math.round(s / 60)} 分钟` : `${s} 秒`);

/**
 * Sensor verification: verified once the device's own samples show every contributing rule normal across
 * the window (samples spanning it, starting after the case was handled); reopened when a rule is still
 * abnormal at reopenAt; `no-evidence` (once, as an update) when the device says nothing at all.
 */
export function verifySensor(s: ReportState, obs: SensorObservation, now: number): Step {
  const v = s.verify;
  if (!s.open || !v || v.method !== 'sensor') return {};
  const heard = obs.lastSampleAt !== undefined && obs.lastSampleAt >= v.handledAt;
  // The alarm engine's view is the truth (it survives restarts with the alarms): every rule's condition normal.
  const phases = s.alarms.map((a) => obs.phaseOf(a.rule));
  const normal = phases.every((p) => p === 'normal');
  if (heard && normal) {
    v.normalSince ??= obs.lastSampleAt!;
    if (obs.lastSampleAt! - v.normalSince >= v.windowS * 1000) {
      s.verification = verification(v, 'verified', now, {
        zh: `处置后传感器读数持续正常（${fmtZhS(v.windowS)}），网关核查通过`,
        en: `After the case was handled the sensor stayed in range for ${fmtS(v.windowS)}: verified by the gateway`,
      });
      delete s.verify;
      s.open = false;
      for (const a of s.alarms) a.active = false;
      return publish(s, 'verified', now);
    }
    return {};
  }
  if (heard) delete v.normalSince;
  if (now >= v.reopenAt && phases.includes('active')) {
    return reopen(s, now, { zh: '处置后传感器仍显示异常', en: 'After the case was handled the sensor still shows the problem' });
  }
  if (!heard && now >= v.noEvidenceAt && !v.noEvidenceSent) {
    v.noEvidenceSent = true;
    s.verification = verification(v, 'no-evidence', now, {
      zh: '处置后未收到该传感器的任何数据，暂无法核查',
      en: 'Nothing heard from the sensor since the case was handled: cannot verify yet',
    });
    return publish(s, 'update', now);
  }
  return {};
}

/** Camera verification: the zone must stay clear of the finding for the window after the case was handled. */
export function verifyCamera(s: ReportState, now: number): Step {
  const v = s.verify;
  if (!s.open || !v || v.method !== 'camera') return {};
  if (isActive(s)) {
    delete v.normalSince;
    if (now >= v.reopenAt) return reopen(s, now, { zh: '处置后摄像头仍在该区域发现问题', en: 'After the case was handled the camera still sees the problem in the zone' });
    return {};
  }
  const lastEnd = Math.max(0, ...s.events.map((e) => e.endedAt ?? 0));
  v.normalSince ??= Math.max(v.handledAt, lastEnd);
  if (now - v.normalSince >= v.windowS * 1000) {
    s.verification = verification(v, 'verified', now, {
      zh: `处置后该区域持续 ${fmtZhS(v.windowS)} 无异常，网关核查通过`,
      en: `After the case was handled the zone stayed clear for ${fmtS(v.windowS)}: verified by the gateway`,
    });
    delete s.verify;
    s.open = false;
    return publish(s, 'verified', now);
  }
  return {};
}

/** Publishes a merged update whose interval has passed. */
export function flushPending(s: ReportState, now: number, cfg: ReportsConfig): Step {
  if (!s.open || !s.pendingUpdate) return {};
  if (s.lastPublishedAt !== undefined && now - s.lastPublishedAt < cfg.updateMinIntervalS * 1000) return {};
  return publish(s, 'update', now);
}
