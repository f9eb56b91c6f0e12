import { z } from 'zod';
import { envelopeShape, EventCode, GridId, IsoUtc, Location, TopicSafeId } from '../common.js';
import { LocalizedText } from './alarm.js';

export const Box = z
  .tuple([z.number(), z.number(), z.number(), z.number()])
  .describe('x1, y1, x2, y2 in normalized frame coordinates (0..1)');

export const Evidence = z
  .object({
    kind: z
      .enum(['annotated', 'clean', 'readings'])
      .describe('annotated: boxes and zone drawn; clean: the frame as captured (privacy masks applied); readings: a JSON record of the sensor samples or zone observations the gateway judged by'),
    ref: z.string().describe('Reference to fetch the file: gateway-relative path or URL'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    takenAt: IsoUtc,
    blurred: z.boolean().optional().describe('Faces/plates blurred before it left the gateway'),
  })
  .strict();
export type Evidence = z.infer<typeof Evidence>;

export const VisionEvent = z
  .object({
    ...envelopeShape,
    type: z.literal('event'),
    cameraId: TopicSafeId,
    eventId: z.string().describe('Stable id of this situation across start/update/end'),
    phase: z.enum(['start', 'update', 'end']),
    eventType: z.string().describe('illegal-stall, illegal-parking, construction-dust, ...'),
    eventCode: EventCode,
    title: LocalizedText.optional(),
    gridId: GridId,
    location: Location,
    zone: z.object({ id: z.string(), name: z.string().optional(), rule: z.string() }).strict(),
    confidence: z.number().min(0).max(1),
    dwellS: z.number().nonnegative(),
    tracks: z
      .array(z.object({ trackId: z.number().int(), label: z.string(), score: z.number(), box: Box, stationaryS: z.number().nonnegative() }).strict())
      .max(200),
    measurements: z.record(z.string(), z.number()).optional().describe('e.g. haze index, PM10 of a bound dust monitor'),
    relatedDevices: z
      .array(TopicSafeId)
      .max(20)
      .optional()
      .describe('Sensors whose readings were fused into this event (e.g. the dust monitor of the same site)'),
    evidence: z.array(Evidence).max(20),
    startedAt: IsoUtc,
    endedAt: IsoUtc.optional(),
  })
  .strict()
  .describe('Vision event lifecycle from one camera zone: start -> update* -> end');
export type VisionEvent = z.infer<typeof VisionEvent>;
