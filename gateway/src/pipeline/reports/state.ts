import type { CaseStatus, Evidence, Location, ReportStatus, Severity, Verification } from '@gridgate/contract';
import type { MetricValue } from '../../model/readings.js';
import type { Category } from './codes.js';

type Text = { zh: string; en: string };

/** What an alarm says about its rule, as a report keeps it. */
export interface AlarmFacts {
  alarmId: string;
  rule: string;
  severity: Severity;
  occurrences: number;
  title: Text;
  metric?: string;
  value?: MetricValue;
  unit?: string;
  limit?: number;
  baseline?: number;
  /** How long the rule's condition must stay normal to count as fixed (the profile's clearForS, or config). */
  windowS: number;
}

/** One alarm rule that contributes to a device report (a cover can be tilted and open: one case, two rules). */
export interface AlarmPart extends AlarmFacts {
  active: boolean;
  raisedAt: number;
  clearedAt?: number;
}

/** One vision event (zone rule finding) that contributes to a camera report. */
export interface EventPart {
  eventId: string;
  eventType: string;
  rule: string;
  active: boolean;
  confidence: number;
  dwellS: number;
  startedAt: number;
  endedAt?: number;
  title?: Text;
  measurements?: Record<string, number>;
}

/** The gateway's own check after the case system says handled (监管分离: whoever handled it does not verify it). */
export interface VerifyState {
  method: 'sensor' | 'camera';
  handledAt: number;
  windowS: number;
  /** Sensor: time of the first sample judged normal since handled; camera: since when the zone is clear. */
  normalSince?: number;
  /** Still abnormal at this time: reopened. */
  reopenAt: number;
  /** Nothing heard from the source by this time: a `no-evidence` update (once). */
  noEvidenceAt: number;
  noEvidenceSent?: boolean;
}

/** A case report as the gateway keeps it (plain data: persisted as JSON, survives restarts). */
export interface ReportState {
  reportId: string;
  /** (asset or zone, category): one open report per key. */
  key: string;
  open: boolean;
  /** Latest published status. */
  status: ReportStatus;
  source: { kind: 'device' | 'camera'; id: string; zoneId?: string };
  /** What the report is about, for descriptions: device name or camera zone name. */
  subject: Text;
  category: Category;
  gridId: string;
  location: Location;
  address?: string;
  assetId?: string;
  alarms: AlarmPart[];
  events: EventPart[];
  evidence: Evidence[];
  firstSeen: number;
  lastSeen: number;
  resolvedAt?: number;
  occurrences: number;
  deadlines: { registerBy: number; dispatchBy: number; resultBy: number };
  caseId?: string;
  caseStatus?: CaseStatus;
  verify?: VerifyState;
  verification?: Verification;
  lastPublishedAt?: number;
  /** A merged repeat waits for updateMinIntervalS. */
  pendingUpdate?: boolean;
}

/** Is the finding present right now (any contributing alarm or event active)? */
export function isActive(s: ReportState): boolean {
  return s.alarms.some((a) => a.active) || s.events.some((e) => e.active);
}

const SEVERITY_ORDER: Severity[] = ['critical', 'major', 'minor', 'warning'];

export function worstSeverity(s: ReportState): Severity {
  const all = [...s.alarms.map((a) => a.severity), ...(s.events.length ? (['major'] as Severity[]) : [])];
  return SEVERITY_ORDER.find((x) => all.includes(x)) ?? 'major';
}
