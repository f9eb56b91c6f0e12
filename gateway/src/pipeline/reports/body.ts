import type { CaseReport, ReportStatus } from '@gridgate/contract';
import type { Body } from '../../northbound/messages.js';
import { isActive, worstSeverity, type ReportState } from './state.js';

type Text = { zh: string; en: string };

const iso = (ms: number) => new Date(ms).toISOString();

function localTime(ms: number, timeZone: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(new Date(ms));
}

function num(v: unknown): string {
  return typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : String(v);
}

/** The measurements that justify the report: each contributing rule's latest value against its limit. */
export function measurements(s: ReportState): CaseReport['measurements'] {
  const out: CaseReport['measurements'] = [];
  for (const a of s.alarms) {
    if (a.metric === undefined || a.value === undefined) continue;
    out.push({ metric: a.metric, value: a.value, ...(a.unit && { unit: a.unit }), ...(a.limit !== undefined && { limit: a.limit }), ...(a.baseline !== undefined && { baseline: a.baseline }), rule: a.rule });
  }
  for (const e of s.events) {
    out.push({ metric: 'confidence', value: Math.round(e.confidence * 1000) / 1000, rule: e.rule });
    out.push({ metric: 'dwell', value: Math.round(e.dwellS), unit: 's', rule: e.rule });
    for (const [k, v] of Object.entries(e.measurements ?? {})) out.push({ metric: k, value: v, rule: e.rule });
  }
  return out.slice(0, 50);
}

/** Generated description, Chinese and English: what, where, how it was measured, since when, and the latest verdict. */
export function describe(s: ReportState, status: ReportStatus, timeZone: string): Text {
  const c = s.category;
  const what = {
    zh: [...s.alarms.map((a) => a.title.zh), ...s.events.map((e) => e.title?.zh ?? c.minor.name.zh)].filter((x, i, all) => all.indexOf(x) === i).join('；'),
    en: [...s.alarms.map((a) => a.title.en), ...s.events.map((e) => e.title?.en ?? c.minor.name.en)].filter((x, i, all) => all.indexOf(x) === i).join('; '),
  };
  const meas = s.alarms
    .filter((a) => a.metric && a.value !== undefined)
    .map((a) => {
      const unit = a.unit ? ` ${a.unit}` : '';
      const zh = `${a.metric} = ${num(a.value)}${unit}${a.baseline !== undefined ? `，基线 ${num(a.baseline)}` : ''}${a.limit !== undefined ? `，限值 ${num(a.limit)}` : ''}`;
      const en = `${a.metric} = ${num(a.value)}${unit}${a.baseline !== undefined ? `, baseline ${num(a.baseline)}` : ''}${a.limit !== undefined ? `, limit ${num(a.limit)}` : ''}`;
      return { zh, en };
    });
  for (const e of s.events) {
    meas.push({ zh: `置信度 ${num(e.confidence)}，持续 ${Math.round(e.dwellS)} 秒`, en: `confidence ${num(e.confidence)}, present for ${Math.round(e.dwellS)} s` });
  }
  const asset = s.assetId ? { zh: `，部件编码 ${s.assetId}`, en: `, component ID ${s.assetId}` } : { zh: '', en: '' };
  const where = {
    zh: `单元网格 ${s.gridId}${s.address ? `，${s.address}` : ''}（${s.location.lat.toFixed(6)}, ${s.location.lon.toFixed(6)}）`,
    en: `unit grid ${s.gridId}${s.address ? `, ${s.address}` : ''} (${s.location.lat.toFixed(6)}, ${s.location.lon.toFixed(6)})`,
  };
  const since = { zh: localTime(s.firstSeen, timeZone, 'zh-CN'), en: localTime(s.firstSeen, timeZone, 'en-GB') };
  const state = isActive(s) ? { zh: '目前仍存在', en: 'still present' } : { zh: '目前已消失', en: 'no longer present' };
  const by = s.source.kind === 'camera' ? { zh: '摄像头', en: 'camera' } : { zh: '传感器', en: 'sensor' };
  const tail: Text =
    status === 'verified' || status === 'reopened' || s.verification?.result === 'no-evidence'
      ? { zh: s.verification!.detail.zh + '。', en: s.verification!.detail.en + '.' }
      : status === 'resolved'
        ? { zh: '网关监测到异常已消失，待处置单位确认。', en: 'The gateway sees the condition gone; awaiting the crew’s confirmation.' }
        : { zh: `由 GridGate 网关根据${by.zh}数据自动发现上报。`, en: `Found and reported automatically by the GridGate gateway from ${by.en} data.` };
  return {
    zh:
      `【${c.minor.name.zh}】${s.subject.zh}${asset.zh}：${what.zh}` +
      (meas.length ? `（${meas.map((m) => m.zh).join('；')}）` : '') +
      `。位置：${where.zh}。首次发现 ${since.zh}，共 ${s.occurrences} 次，${state.zh}。${tail.zh}`,
    en:
      `[${c.minor.name.en}] ${s.subject.en}${asset.en}: ${what.en}` +
      (meas.length ? ` (${meas.map((m) => m.en).join('; ')})` : '') +
      `. Location: ${where.en}. First seen ${since.en} (${timeZone}), ${s.occurrences} occurrence(s), ${state.en}. ${tail.en}`,
  };
}

/** The message body (envelope added by the stamper) for publishing the report with this status. */
export function reportBody(s: ReportState, status: ReportStatus, timeZone: string): Body<CaseReport> {
  const alarmIds = s.alarms.map((a) => a.alarmId);
  const eventIds = s.events.map((e) => e.eventId);
  return {
    type: 'report',
    reportId: s.reportId,
    status,
    gridId: s.gridId,
    location: s.location,
    ...(s.address && { address: s.address }),
    category: s.category,
    ...(s.assetId && { assetId: s.assetId }),
    source: { ...s.source, ...(alarmIds.length && { alarmIds: alarmIds.slice(-50) }), ...(eventIds.length && { eventIds: eventIds.slice(-50) }) },
    severity: worstSeverity(s),
    measurements: measurements(s),
    description: describe(s, status, timeZone),
    evidence: s.evidence,
    firstSeen: iso(s.firstSeen),
    lastSeen: iso(s.lastSeen),
    ...(s.resolvedAt !== undefined && { resolvedAt: iso(s.resolvedAt) }),
    occurrences: s.occurrences,
    deadlines: { registerBy: iso(s.deadlines.registerBy), dispatchBy: iso(s.deadlines.dispatchBy), resultBy: iso(s.deadlines.resultBy) },
    ...(s.caseId && { caseId: s.caseId }),
    ...(s.caseStatus && { caseStatus: s.caseStatus }),
    ...(s.verification && { verification: s.verification }),
  };
}
