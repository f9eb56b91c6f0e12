import { z } from 'zod';
import { EventCode } from '@gridgate/contract';

const Text = z.object({ zh: z.string().min(1), en: z.string().min(1) }).strict();
const HhMm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'use HH:MM (24 h)');

export const TimeWindow = z
  .object({ from: HhMm, to: HhMm })
  .strict()
  .describe('Local time window in the gateway timezone; from > to wraps past midnight');
export type TimeWindow = z.infer<typeof TimeWindow>;

export const ObjectGroup = z
  .object({
    classes: z.array(z.string().min(1)).min(1).describe('Detector class names (COCO names for the built-in model)'),
    minCount: z.number().int().min(1).default(1),
    stationaryS: z.number().nonnegative().default(0).describe('Each counted object has stood still at least this long'),
    minScore: z.number().min(0).max(1).default(0.3),
  })
  .strict();
export type ObjectGroup = z.infer<typeof ObjectGroup>;

const ruleBase = {
  id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'use kebab-case'),
  eventType: z.string().regex(/^[a-z][a-z0-9-]*$/).describe('illegal-stall, illegal-parking, construction-dust, ...'),
  code: EventCode.describe('GB/T 30428 event type sent with the event (cities may override it in their own profile)'),
  title: Text,
  minDwellS: z.number().nonnegative().describe('The situation must hold this long before the event starts'),
  activeHours: TimeWindow.optional().describe('Only evaluated inside this window (e.g. daylight for the haze index)'),
};

/** Objects of some classes, still, inside the zone; optionally clustered around anchor objects. */
export const ObjectRule = z
  .object({
    ...ruleBase,
    kind: z.literal('objects'),
    anchor: ObjectGroup.describe('The objects the situation is about (e.g. person, car)'),
    with: ObjectGroup.optional().describe('Objects that must be clustered around an anchor (e.g. goods around a vendor)'),
    near: z.number().positive().default(1.5).describe('"Clustered": gap between boxes at most this many anchor heights'),
  })
  .strict();
export type ObjectRule = z.infer<typeof ObjectRule>;

/** The image haze index over the zone, fused with dust monitors bound to the zone's site. */
export const HazeRule = z
  .object({
    ...ruleBase,
    kind: z.literal('haze'),
    above: z.number().min(0).max(1).describe('Haze index (0..1, relative to the camera’s own clean baseline) that counts as dust'),
    baseline: z
      .union([
        z.object({ learnSamples: z.number().int().min(1).max(1000).default(20) }).strict(),
        z.object({ fixed: z.object({ darkChannel: z.number(), contrast: z.number().positive(), saturation: z.number().positive() }).strict() }).strict(),
      ])
      .default({ learnSamples: 20 })
      .describe('Clean-scene statistics: learned as the median of the first N frames evaluated, or fixed'),
    sensor: z
      .object({
        limits: z
          .record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.number())
          .refine((r) => Object.keys(r).length > 0, 'name at least one metric')
          .describe('Canonical metric → exceedance limit in its canonical unit (e.g. pm10: 150 ug/m3, tsp: 800 ug/m3)'),
        maxAgeS: z.number().positive().default(1800).describe('Readings older than this do not count'),
      })
      .strict()
      .optional()
      .describe('Dust monitors bound to the same site: image haze plus sensor exceedance is a high-confidence event'),
  })
  .strict();
export type HazeRule = z.infer<typeof HazeRule>;

export const ZoneRule = z.discriminatedUnion('kind', [ObjectRule, HazeRule]);
export type ZoneRule = z.infer<typeof ZoneRule>;

export const TrackerSettings = z
  .object({
    iouMin: z.number().min(0).max(1).default(0.3),
    maxGapS: z.number().positive().default(60).describe('A track survives this long unseen (motion-gated cameras send still scenes only periodically)'),
    minHits: z.number().int().min(1).default(2).describe('Detections before a track counts (one-frame false positives never do)'),
    moveTolerance: z.number().nonnegative().default(0.3).describe('Centre movement, in box sizes, that still counts as standing still'),
  })
  .strict();
export type TrackerSettings = z.infer<typeof TrackerSettings>;

/** Camera profile: how a kind of camera installation turns detections into events, per zone rule name. */
export const CameraProfile = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    description: z.string().optional(),
    zoneRules: z
      .record(z.string().regex(/^[a-z][a-z0-9-]*$/), z.array(ZoneRule).min(1))
      .describe('Zone rule name (as listed in a zone’s rules) → what is detected there'),
    tracker: TrackerSettings.default(TrackerSettings.parse({})),
    cooldownS: z.number().nonnegative().default(120).describe('An event ends only after its situation has been gone this long; a return within it continues the same event'),
    gapS: z.number().nonnegative().default(30).describe('Before an event starts, its situation may lapse this long without restarting the dwell clock'),
    updateMinS: z.number().positive().default(60).describe('At most one update message per event in this time'),
  })
  .strict()
  .superRefine((p, ctx) => {
    const ids = new Set<string>();
    for (const [name, rules] of Object.entries(p.zoneRules)) {
      rules.forEach((r, i) => {
        if (ids.has(r.id)) ctx.addIssue({ code: 'custom', path: ['zoneRules', name, i, 'id'], message: `rule id "${r.id}" is used twice` });
        ids.add(r.id);
      });
    }
  });
export type CameraProfile = z.infer<typeof CameraProfile>;
