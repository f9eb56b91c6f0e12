import { CaseReport, type CaseStatus, type Evidence, type ReportStatus } from '@gridgate/contract';
import type { Logger } from 'pino';
import type { Transition } from '../alarms/rule-lifecycle.js';
import type { GridMap } from '../grids/grid-map.js';
import { gridCodeProblem, type GridCodeLength } from '../grids/grid-code.js';
import type { DecodedUplink } from '../../model/readings.js';
import type { PipelineListener } from '../decode/pipeline.js';
import type { AlarmRule } from '../../profiles/schema.js';
import type { Device, DeviceRegistry } from '../../model/devices.js';
import type { VisionEventListener, VisionFinding } from '../../model/vision-finding.js';
import type { Body } from '../../northbound/messages.js';
import type { Outbound } from '../../northbound/outbound.js';
import type { Stamper } from '../../northbound/stamper.js';
import { uuidv7 } from '@gridgate/contract';
import { reportBody } from './body.js';
import {
  applyAlarm,
  applyCaseStatus,
  applyEvent,
  flushPending,
  newCameraReport,
  newDeviceReport,
  reportKey,
  verifyCamera,
  verifySensor,
  type AlarmInput,
  type EventInput,
  type RulePhase,
  type Step,
  type Subject,
  type VerifyPlan,
} from './builder.js';
import type { CategoryKind, CodeTable } from './codes.js';
import type { ReportsConfig } from './config.js';
import { keepEvidence, type EvidenceWriter } from './evidence.js';
import { SampleRing } from './sample-ring.js';
import type { ReportStore } from './store.js';
import type { ReportState } from './state.js';

/** Where reports go: the outbox (messages and the state that goes with them commit together). */
export interface ReportSink {
  put(o: Outbound): void;
  commitWith(write: () => void): void;
}

export interface ReportManagerDeps {
  cfg: ReportsConfig;
  store: ReportStore;
  sink: ReportSink;
  stamper: Stamper;
  topic: string;
  codes: CodeTable;
  grids?: GridMap;
  gridCodeLength: GridCodeLength;
  devices: DeviceRegistry;
  /** Phase of a rule's condition in the alarm engine (for verification). */
  phaseOf(deviceId: string, ruleId: string): RulePhase;
  evidence: EvidenceWriter;
  timezone: string;
  log: Logger;
  now?: () => number;
}

export interface RejectedReport {
  at: string;
  reportId: string;
  source: string;
  reason: string;
}

/** Which case category an alarm of this rule is, or undefined when it is not a case (sensor battery, offline...). */
export function categoryFor(device: Device, rule: AlarmRule, severity: string, cfg: ReportsConfig): { kind: CategoryKind; code: string } | undefined {
  const r = rule.report;
  if (r === false) return undefined;
  if (typeof r === 'object') return { kind: 'event', code: r.event };
  if (r === true) return { kind: 'component', code: device.componentCode };
  if (rule.kind === 'offline') return undefined;
  if (!(cfg.severities as string[]).includes(severity)) return undefined;
  return { kind: 'component', code: device.componentCode };
}

/**
 * The reports stage: listens to alarms and vision events, keeps one open report per (asset or zone,
 * category), publishes them through the outbox, takes the case system's status back and verifies handled
 * cases with the gateway's own evidence. The logic is in builder.ts; this is the I/O around it.
 */
export class ReportManager implements PipelineListener, VisionEventListener {
  private readonly open = new Map<string, ReportState>();
  /** Each device's latest samples (and so when it last reported). */
  private readonly samples = new Map<string, SampleRing>();
  readonly rejected: RejectedReport[] = [];
  private readonly rejectedIds = new Set<string>();
  readonly counters = { published: 0, rejected: 0, verified: 0, reopened: 0 };

  constructor(private readonly d: ReportManagerDeps) {
    for (const s of d.store.loadOpen()) this.open.set(s.key, s);
  }

  private now(): number {
    return this.d.now?.() ?? Date.now();
  }

  openReports(): ReportState[] {
    return [...this.open.values()];
  }

  get(reportId: string): ReportState | undefined {
    return [...this.open.values()].find((s) => s.reportId === reportId) ?? this.d.store.get(reportId);
  }

  telemetry(device: Device, u: DecodedUplink): void {
    let ring = this.samples.get(device.id);
    if (!ring) this.samples.set(device.id, (ring = new SampleRing(this.d.cfg.evidenceSamples)));
    ring.add(this.now(), u.metrics);
  }

  alarm(device: Device, t: Transition): void {
    const cat = categoryFor(device, t.rule.rule, t.alarm.severity, this.d.cfg);
    if (!cat) return;
    const subject = this.deviceSubject(device, cat);
    const key = reportKey(subject);
    const input = this.alarmInput(device, t);
    let s = this.open.get(key);
    let step: Step;
    if (!s) {
      if (t.state !== 'raised' && t.state !== 'updated') return;
      s = newDeviceReport(uuidv7(t.at), subject, input, this.d.cfg);
      this.open.set(key, s);
      step = { emit: 'new' };
    } else {
      step = applyAlarm(s, input, this.d.cfg);
    }
    this.after(s, step, t.at);
  }

  visionEvent(e: VisionFinding): void {
    const at = e.at;
    const cat = { kind: 'event' as const, code: e.eventCode };
    const subject: Subject = {
      kind: 'camera',
      id: e.cameraId,
      zoneId: e.zone.id,
      name: { zh: `摄像头 ${e.cameraId} 区域 ${e.zone.name ?? e.zone.id}`, en: `camera ${e.cameraId}, zone ${e.zone.name ?? e.zone.id}` },
      location: e.location,
      gridId: e.gridId,
      category: this.d.codes.category(cat.kind, cat.code),
    };
    const key = reportKey(subject);
    const input: EventInput = {
      phase: e.phase,
      at,
      eventId: e.eventId,
      eventType: e.eventType,
      rule: e.zone.rule,
      confidence: e.confidence,
      dwellS: e.dwellS,
      startedAt: e.startedAt,
      ...(e.endedAt !== undefined && { endedAt: e.endedAt }),
      ...(e.title && { title: e.title }),
      ...(e.measurements && { measurements: e.measurements }),
    };
    let s = this.open.get(key);
    let step: Step;
    if (!s) {
      if (e.phase === 'end') return;
      s = newCameraReport(uuidv7(at), subject, input, this.d.cfg);
      this.open.set(key, s);
      step = { emit: 'new' };
    } else {
      step = applyEvent(s, input, this.d.cfg);
    }
    const known = new Set(s.evidence.map((x) => x.sha256));
    s.evidence = keepEvidence([...s.evidence, ...e.evidence.filter((x) => !known.has(x.sha256))]);
    this.after(s, step, at);
  }

  /** The `case.status` command: the case system's view of a report. */
  caseStatus(c: { reportId: string; status: CaseStatus; caseId?: string; at?: string }): Record<string, unknown> {
    const now = this.now();
    const s = [...this.open.values()].find((x) => x.reportId === c.reportId) ?? this.d.store.get(c.reportId);
    if (!s) throw new Error(`no case report ${c.reportId} on this gateway`);
    const at = Math.min(c.at ? Date.parse(c.at) : now, now);
    const r = applyCaseStatus(s, { status: c.status, at, ...(c.caseId && { caseId: c.caseId }) }, this.verifyPlan(s));
    this.after(s, r, now);
    this.d.log.info({ reportId: s.reportId, caseId: s.caseId, caseStatus: c.status, verifying: r.verifying }, 'case status');
    return { reportId: s.reportId, status: s.status, open: s.open, verifying: r.verifying, ...(s.caseId && { caseId: s.caseId }) };
  }

  /** Time-driven work, once a second: verification verdicts and merged updates that are due. */
  tick(): void {
    const now = this.now();
    for (const s of [...this.open.values()]) {
      const before = s.verify?.normalSince;
      let step: Step = {};
      if (s.verify?.method === 'sensor') {
        const deviceId = s.source.id;
        step = verifySensor(s, { phaseOf: (rule) => this.d.phaseOf(deviceId, rule), lastSampleAt: this.samples.get(deviceId)?.lastAt }, now);
      } else if (s.verify?.method === 'camera') {
        step = verifyCamera(s, now);
      }
      if (!step.emit) step = flushPending(s, now, this.d.cfg);
      if (step.emit || s.verify?.normalSince !== before) this.after(s, step, now);
    }
  }

  private verifyPlan(s: ReportState): VerifyPlan {
    const v = this.d.cfg.verify;
    if (s.source.kind === 'camera') return { method: 'camera', windowS: v.zoneClearS, reopenAfterS: v.zoneClearS * 2, noEvidenceAfterS: v.noEvidenceAfterS };
    const device = this.d.devices.byId.get(s.source.id);
    const windowS = Math.max(0, ...s.alarms.map((a) => a.windowS));
    const rules = device?.rules.filter((r) => s.alarms.some((a) => a.rule === r.rule.id)) ?? [];
    const clearS = Math.max(0, ...rules.map((r) => r.rule.clearForS));
    const intervalS = device ? device.config.reportingIntervalS ?? device.profile.reportingIntervalS : 300;
    // The device must have had time to report, the rule to clear, and the window to pass.
    return { method: 'sensor', windowS, reopenAfterS: clearS + windowS + 2.5 * intervalS, noEvidenceAfterS: v.noEvidenceAfterS };
  }

  private deviceSubject(device: Device, cat: { kind: CategoryKind; code: string }): Subject {
    return {
      kind: 'device',
      id: device.id,
      name: { zh: device.config.name ?? device.id, en: `${device.assetType} ${device.id}` },
      location: device.location,
      gridId: device.gridId,
      ...(device.config.address && { address: device.config.address }),
      ...(device.assetId && { assetId: device.assetId }),
      category: this.d.codes.category(cat.kind, cat.code),
    };
  }

  private alarmInput(device: Device, t: Transition): AlarmInput {
    const rule = t.rule.rule;
    const metric = 'metric' in rule ? rule.metric : undefined;
    const unit = metric ? device.profile.metrics.find((m) => m.name === metric)?.unit : undefined;
    const v = this.d.cfg.verify;
    return {
      state: t.state,
      at: t.at,
      alarmId: t.alarm.alarmId,
      rule: rule.id,
      severity: t.alarm.severity,
      occurrences: t.alarm.occurrences,
      title: rule.title,
      ...(metric && { metric }),
      ...(t.alarm.value !== undefined && { value: t.alarm.value }),
      ...(unit && { unit }),
      ...(t.alarm.limit !== undefined && { limit: t.alarm.limit }),
      ...(t.alarm.baseline !== undefined && { baseline: t.alarm.baseline }),
      windowS: v.windowS ?? Math.max(rule.clearForS, v.minWindowS),
    };
  }

  /** Persists the state and, when the step says so, publishes the report with fresh evidence. */
  private after(s: ReportState, step: Step, at: number): void {
    if (step.emit) this.publish(s, step.emit, at);
    else this.d.sink.commitWith(this.d.store.writer(s, at));
    // A closed report leaves the open set; its key may already belong to a newer report.
    if (!s.open && this.open.get(s.key) === s) this.open.delete(s.key);
  }

  private publish(s: ReportState, status: ReportStatus, at: number): void {
    if (s.source.kind === 'device' && status !== 'update') {
      s.evidence = keepEvidence([...s.evidence, this.readings(s, status, at)]);
    } else if (s.source.kind === 'camera' && status === 'verified') {
      s.evidence = keepEvidence([...s.evidence, this.d.evidence.write(s.reportId, status, at, { reportId: s.reportId, status, camera: s.source, events: s.events, verification: s.verification })]);
    }
    const body = reportBody(s, status, this.d.timezone);
    const why = this.refusal(body);
    if (why) {
      this.refuse(s, why, at);
      return;
    }
    const msg = this.d.stamper.stamp(body, at);
    this.d.sink.put({ topic: this.d.topic, message: msg, qos: 1, retain: false, class: 'report' });
    this.d.sink.commitWith(this.d.store.writer(s, at));
    this.counters.published++;
    if (status === 'verified') this.counters.verified++;
    if (status === 'reopened') this.counters.reopened++;
    this.d.log.info({ reportId: s.reportId, status, gridId: s.gridId, category: s.category.code, source: `${s.source.kind}:${s.source.id}` }, 'case report');
  }

  private readings(s: ReportState, status: ReportStatus, at: number): Evidence {
    const samples = (this.samples.get(s.source.id)?.samples() ?? []).map((x) => ({ at: new Date(x.at).toISOString(), metrics: x.metrics }));
    return this.d.evidence.write(s.reportId, status, at, {
      reportId: s.reportId,
      status,
      device: s.source.id,
      rules: s.alarms.map((a) => ({ rule: a.rule, alarmId: a.alarmId, active: a.active, metric: a.metric, value: a.value, unit: a.unit, limit: a.limit, baseline: a.baseline })),
      ...(s.verification && { verification: s.verification }),
      samples,
    });
  }

  /** Why this report must not leave the gateway: a grid ID the map does not know, or a contract violation. */
  private refusal(body: Body<CaseReport>): string | undefined {
    const codeErr = gridCodeProblem(body.gridId, this.d.gridCodeLength);
    if (codeErr) return codeErr;
    if (this.d.grids && !this.d.grids.has(body.gridId)) return `grid ${body.gridId} is not in the grid map`;
    const probe = CaseReport.safeParse({ ...body, id: '00000000-0000-7000-8000-000000000000', ts: new Date(0).toISOString(), gatewayId: 'probe', seq: 0, v: 1 });
    if (!probe.success) return `not a valid case report: ${probe.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
    return undefined;
  }

  private refuse(s: ReportState, reason: string, at: number): void {
    this.counters.rejected++;
    const source = `${s.source.kind}:${s.source.id}${s.source.zoneId ? `/${s.source.zoneId}` : ''}`;
    this.rejected.push({ at: new Date(at).toISOString(), reportId: s.reportId, source, reason });
    if (this.rejected.length > 50) this.rejected.shift();
    if (!this.rejectedIds.has(s.reportId)) {
      this.rejectedIds.add(s.reportId);
      this.d.log.error({ reportId: s.reportId, source, gridId: s.gridId, reason }, `case report refused: ${reason}; fix the grid of ${source} (config gridId, zone gridId or the grid map) and check with gridgate grids check`);
    }
  }
}
