import { z } from 'zod';
import { ComponentCode, envelopeShape, GridId, IsoUtc, Location, MetricValue, Severity } from '../common.js';
import { LocalizedText } from './alarm.js';
import { Evidence } from './event.js';

export const ReportStatus = z.enum(['new', 'update', 'resolved', 'verified', 'reopened']);
export type ReportStatus = z.infer<typeof ReportStatus>;

export const CaseReport = z
  .object({
    ...envelopeShape,
    type: z.literal('report'),
    reportId: z.string().describe('Stable id of the case report across its statuses'),
    status: ReportStatus,
    gridId: GridId,
    location: Location,
    address: z.string().max(200).optional(),
    category: z
      .object({
        kind: z.enum(['component', 'event']).describe('部件 (a broken asset) or 事件 (a situation)'),
        code: ComponentCode.describe('4-digit component class or event type'),
        major: z.object({ code: z.string(), name: LocalizedText }).strict(),
        minor: z.object({ code: z.string(), name: LocalizedText }).strict(),
      })
      .strict(),
    assetId: z.string().regex(/^\d{16}$/).optional(),
    source: z
      .object({
        kind: z.enum(['device', 'camera']),
        id: z.string(),
        alarmIds: z.array(z.string()).optional(),
        eventIds: z.array(z.string()).optional(),
      })
      .strict(),
    severity: Severity,
    measurements: z
      .array(z.object({ metric: z.string(), value: MetricValue, unit: z.string().optional(), limit: z.number().optional() }).strict())
      .max(50),
    description: LocalizedText,
    evidence: z.array(Evidence).max(20),
    firstSeen: IsoUtc,
    lastSeen: IsoUtc,
    occurrences: z.number().int().positive(),
    deadlines: z.object({ registerBy: IsoUtc, dispatchBy: IsoUtc, resultBy: IsoUtc }).strict(),
    caseId: z.string().optional().describe('Case id in the city case system, once known'),
  })
  .strict()
  .describe('Case report for the city case system: new -> update* -> resolved -> verified | reopened');
export type CaseReport = z.infer<typeof CaseReport>;
