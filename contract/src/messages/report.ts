import { z } from 'zod';
import { envelopeShape, GridId, IsoUtc, Location, MetricValue, Severity } from '../common.js';
import { LocalizedText } from './alarm.js';
import { CaseStatus } from './command.js';
import { Evidence } from './event.js';

/**
 * new: first finding; update: it repeated or changed; resolved: the gateway sees the condition gone;
 * verified: after the case system said handled, the gateway's own evidence confirms it (closes the report);
 * reopened: after handled, the gateway's evidence says the problem is still there.
 */
export const ReportStatus = z.enum(['new', 'update', 'resolved', 'verified', 'reopened']);
export type ReportStatus = z.infer<typeof ReportStatus>;

export const CategoryCode = z
  .string()
  .regex(/^\d{4}$/, 'a category code has 4 digits (major 2 + minor 2), e.g. 0101 or 0505')
  .describe('GB/T 30428 component class (部件) or event type (事件): major 2 digits + minor 2 digits');

export const Verification = z
  .object({
    method: z.enum(['sensor', 'camera']).describe('sensor: the same device back in range; camera: the same zone clear'),
    result: z.enum(['pending', 'verified', 'reopened', 'no-evidence']).describe('no-evidence: nothing heard from the source since the case was handled'),
    handledAt: IsoUtc.describe('When the case system reported the case handled'),
    checkedAt: IsoUtc,
    windowS: z.number().nonnegative().describe('How long the condition had to stay normal (sensor) or the zone clear (camera)'),
    detail: LocalizedText,
  })
  .strict()
  .describe('Independent check (监管分离) of a case the case system marked handled');
export type Verification = z.infer<typeof Verification>;

export const CaseReport = z
  .object({
    ...envelopeShape,
    type: z.literal('report'),
    reportId: z.string().min(1).max(64).describe('Stable id of the case report across its statuses'),
    status: ReportStatus,
    gridId: GridId,
    location: Location,
    address: z.string().max(200).optional(),
    category: z
      .object({
        kind: z.enum(['component', 'event']).describe('部件 (a broken asset) or 事件 (a situation)'),
        code: CategoryCode,
        major: z.object({ code: z.string().regex(/^\d{2}$/), name: LocalizedText }).strict(),
        minor: z.object({ code: z.string().regex(/^\d{4}$/), name: LocalizedText }).strict(),
      })
      .strict(),
    assetId: z.string().regex(/^\d{16}$/).optional().describe('GB/T 30428 16-digit component ID, when configured'),
    source: z
      .object({
        kind: z.enum(['device', 'camera']),
        id: z.string().describe('Device id or camera id'),
        zoneId: z.string().optional().describe('Camera zone, for camera findings'),
        alarmIds: z.array(z.string()).max(50).optional(),
        eventIds: z.array(z.string()).max(50).optional(),
      })
      .strict(),
    severity: Severity,
    measurements: z
      .array(
        z
          .object({
            metric: z.string(),
            value: MetricValue,
            unit: z.string().optional(),
            limit: z.number().optional(),
            baseline: z.number().optional(),
            rule: z.string().optional().describe('Alarm rule or zone rule that judged it'),
          })
          .strict(),
      )
      .max(50),
    description: LocalizedText,
    evidence: z.array(Evidence).max(20),
    firstSeen: IsoUtc,
    lastSeen: IsoUtc,
    resolvedAt: IsoUtc.optional().describe('When the gateway last saw the condition end'),
    occurrences: z.number().int().positive(),
    deadlines: z
      .object({ registerBy: IsoUtc, dispatchBy: IsoUtc, resultBy: IsoUtc })
      .strict()
      .describe('Workflow deadlines from firstSeen: register (立案), dispatch (派遣), result of a simple case (处置反馈)'),
    caseId: z.string().optional().describe('Case id in the city case system, once known'),
    caseStatus: CaseStatus.optional().describe('Latest status the case system reported'),
    verification: Verification.optional(),
  })
  .strict()
  .describe('Case report for the city case system: new -> update* -> resolved? -> (handled) -> verified | reopened -> ...');
export type CaseReport = z.infer<typeof CaseReport>;
