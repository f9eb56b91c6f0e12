import { z } from 'zod';
import { deviceShape, envelopeShape, IsoUtc, MetricValue, Severity } from '../common.js';

export const AlarmState = z.enum(['raised', 'updated', 'acknowledged', 'cleared']);
export type AlarmState = z.infer<typeof AlarmState>;

export const LocalizedText = z.object({ zh: z.string(), en: z.string() }).strict();

export const Alarm = z
  .object({
    ...envelopeShape,
    ...deviceShape,
    type: z.literal('alarm'),
    alarmId: z.string().describe('Stable id of this alarm occurrence, the same across raised/updated/acknowledged/cleared'),
    rule: z.string().describe('Alarm rule id from the device profile'),
    kind: z.enum(['threshold', 'deviation', 'state', 'rate', 'offline']),
    state: AlarmState,
    severity: Severity,
    title: LocalizedText,
    metric: z.string().optional(),
    value: MetricValue.optional().describe('The value that caused the latest transition'),
    unit: z.string().optional(),
    limit: z.number().optional().describe('The threshold the value crossed'),
    baseline: z.number().optional().describe('For deviation rules: the baseline the value is compared with'),
    raisedAt: IsoUtc,
    acknowledgedAt: IsoUtc.optional(),
    acknowledgedBy: z.string().max(100).optional(),
    clearedAt: IsoUtc.optional(),
    flapping: z.boolean().optional().describe('True while the alarm toggles too often and its clear is held back'),
    occurrences: z.number().int().positive().describe('How many times the condition re-triggered while active'),
  })
  .strict()
  .describe('Alarm lifecycle: raised -> (updated) -> acknowledged -> cleared; one active alarm per (device, rule)');
export type Alarm = z.infer<typeof Alarm>;
