import { z } from 'zod';
import { deviceShape, envelopeShape, IsoUtc, MetricValue } from '../common.js';

export const Metric = z
  .object({
    value: MetricValue.refine((v) => typeof v !== 'number' || Number.isFinite(v), 'must be finite'),
    unit: z.string().max(16).optional().describe('SenML (RFC 8428) unit symbol: Pa, Cel, m, V, A, W, lx, ug/m3, %RH, %EL, deg, ...'),
  })
  .strict();
export type Metric = z.infer<typeof Metric>;

export const Telemetry = z
  .object({
    ...envelopeShape,
    ...deviceShape,
    type: z.literal('telemetry'),
    profile: z.string().describe('Device profile that decoded this message'),
    observedAt: IsoUtc.describe('When the device (or its network server) observed the values'),
    metrics: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), Metric).describe('Canonical metrics, SI units'),
  })
  .strict()
  .describe('Normalized measurements from one device uplink');
export type Telemetry = z.infer<typeof Telemetry>;
