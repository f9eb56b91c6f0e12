import { z } from 'zod';
import { ComponentCode, EventCode, Severity } from '@gridgate/contract';
import { checkOpcuaProfile, OpcuaProfileSection } from './opcua-schema.js';

const Name = z.string().regex(/^[a-z][a-z0-9_]*$/, 'use snake_case: lower-case letters, digits and "_"');
const Text = z.object({ zh: z.string().min(1), en: z.string().min(1) }).strict().describe('Text in Chinese and English');

/** A limit: a number, or a device parameter times a factor (e.g. 0.8 × rated_power_w). */
export const Limit = z.union([
  z.number(),
  z.object({ param: Name, factor: z.number().default(1) }).strict(),
]);
export type Limit = z.infer<typeof Limit>;

const ruleBase = {
  id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'use kebab-case: lower-case letters, digits and "-"'),
  severity: Severity.default('major'),
  title: Text,
  when: z
    .object({ metric: Name, equals: z.union([z.boolean(), z.number(), z.string()]) })
    .strict()
    .optional()
    .describe('Evaluate only while this metric has this value (e.g. lamp power only while the relay is on)'),
  forS: z.number().nonnegative().default(0).describe('The condition must hold this long before the alarm is raised'),
  clearForS: z.number().nonnegative().default(0).describe('The normal condition must hold this long before it clears (also the window a handled case is verified over)'),
  report: z
    .union([z.boolean(), z.object({ event: EventCode }).strict()])
    .optional()
    .describe('Case report for this alarm: false never, true always (as the device’s component class), {event: "0302"} as that event type. Default: by the gateway’s reports.severities, never for offline'),
  flapping: z
    .object({
      maxRaises: z.number().int().min(2).default(4),
      windowS: z.number().positive().default(900),
      holdS: z.number().positive().default(600).describe('While flapping, the alarm clears only after this long normal'),
    })
    .strict()
    .default({ maxRaises: 4, windowS: 900, holdS: 600 }),
};

export const ThresholdRule = z
  .object({
    ...ruleBase,
    kind: z.literal('threshold'),
    metric: Name,
    above: Limit.optional(),
    below: Limit.optional(),
    hysteresis: z.number().nonnegative().default(0).describe('Clears only once the value is back by this much'),
  })
  .strict()
  .refine((r) => r.above !== undefined || r.below !== undefined, 'a threshold rule needs "above", "below" or both');

export const DeviationRule = z
  .object({
    ...ruleBase,
    kind: z.literal('deviation'),
    metric: Name,
    limit: Limit.describe('Largest allowed |value - baseline|'),
    hysteresis: z.number().nonnegative().default(0),
    baseline: z
      .union([
        z.object({ fixed: Limit }).strict(),
        z.object({ learnSamples: z.number().int().min(1).max(100).default(5) }).strict(),
      ])
      .default({ learnSamples: 5 })
      .describe('Fixed baseline, or the median of the first N samples (kept across restarts)'),
  })
  .strict();

export const StateRule = z
  .object({
    ...ruleBase,
    kind: z.literal('state'),
    metric: Name,
    equals: z.union([z.boolean(), z.number(), z.string()]).describe('Alarm while the metric has this value'),
  })
  .strict();

export const RateRule = z
  .object({
    ...ruleBase,
    kind: z.literal('rate'),
    metric: Name,
    maxRisePerS: z.number().positive().optional(),
    maxFallPerS: z.number().positive().optional(),
    windowS: z.number().positive().default(300).describe('Only consecutive samples closer than this are compared'),
    minDelta: z.number().nonnegative().default(0).describe('And only a change at least this large counts: sensor noise over a short interval is not a burst pipe'),
  })
  .strict()
  .refine((r) => r.maxRisePerS !== undefined || r.maxFallPerS !== undefined, 'a rate rule needs maxRisePerS, maxFallPerS or both');

export const OfflineRule = z
  .object({
    ...ruleBase,
    kind: z.literal('offline'),
    afterS: z.number().positive().optional().describe('Default: 2.5 × the profile reportingIntervalS'),
  })
  .strict();

// Discriminated by kind, so a problem inside a rule is reported at its own path (alarms[0].title.en).
export const AlarmRule = z.discriminatedUnion('kind', [ThresholdRule, DeviationRule, StateRule, RateRule, OfflineRule]);
export type AlarmRule = z.infer<typeof AlarmRule>;
export type AlarmRuleKind = AlarmRule['kind'];

export const MetricSpec = z
  .object({
    name: Name.describe('Canonical metric name'),
    source: z.string().min(1).describe('Field of the decoded payload (dot path), as the vendor decoder names it'),
    type: z.enum(['number', 'boolean', 'string']).default('number'),
    unit: z.string().max(16).optional().describe('SenML unit symbol of the canonical value'),
    scale: z.number().default(1).describe('canonical = raw × scale + offset (e.g. kPa → Pa: 1000)'),
    offset: z.number().default(0),
    map: z
      .record(z.string(), z.union([z.boolean(), z.number(), z.string()]))
      .optional()
      .describe('Maps raw enum values to canonical ones (e.g. position: {tilt: true, normal: false})'),
    min: z.number().optional().describe('Plausible range: values outside are rejected as bad input'),
    max: z.number().optional(),
    description: z.string().optional(),
  })
  .strict();
export type MetricSpec = z.infer<typeof MetricSpec>;

/** A metric's canonical value, of its spec's type (the readings of model/readings.ts carry it). */
export type MetricValue = number | boolean | string;

/** Scenario values the simulator uses: canonical metric -> value or [min, max] range. */
const SimValues = z.record(Name, z.union([z.number(), z.boolean(), z.string(), z.tuple([z.number(), z.number()])]));

export const DeviceProfile = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and "-"'),
    vendor: z.string().min(1),
    model: z.string().min(1),
    description: z.string().optional(),
    docs: z.string().url().optional().describe("Vendor's public payload documentation"),
    assetType: z.enum(['manhole-cover', 'hydrant', 'street-light', 'lighting-cabinet', 'dust-monitor', 'water-level', 'pump-station', 'camera', 'other']),
    componentCode: ComponentCode.describe('Default GB/T 30428 component class; a device may override it'),
    transport: z.enum(['lorawan', 'mqtt-json', 'opcua']),
    codec: z.string().optional().describe('Named binary codec (gateway/src/profiles/codecs) for lorawan devices'),
    reportingIntervalS: z.number().positive().describe('How often the device reports when nothing happens'),
    params: z.record(Name, z.union([z.number(), z.string(), z.boolean()])).default({}).describe('Per-device parameters with defaults'),
    metrics: z.array(MetricSpec).min(1),
    alarms: z.array(AlarmRule).default([]),
    opcua: OpcuaProfileSection.optional(),
    simulation: z
      .object({ normal: SimValues, faults: z.record(z.string(), SimValues).default({}) })
      .strict()
      .optional()
      .describe('Realistic values for `gridgate simulate`: the normal state and named faults'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.transport === 'lorawan' && !p.codec) ctx.addIssue({ code: 'custom', path: ['codec'], message: 'a lorawan profile names its binary codec' });
    checkOpcuaProfile(p, ctx);
    const names = new Set<string>();
    p.metrics.forEach((m, i) => {
      if (names.has(m.name)) ctx.addIssue({ code: 'custom', path: ['metrics', i, 'name'], message: `metric "${m.name}" is defined twice` });
      names.add(m.name);
    });
    const ids = new Set<string>();
    p.alarms.forEach((r, i) => {
      if (ids.has(r.id)) ctx.addIssue({ code: 'custom', path: ['alarms', i, 'id'], message: `alarm rule "${r.id}" is defined twice` });
      ids.add(r.id);
      const refs = [('metric' in r ? r.metric : undefined), r.when?.metric].filter((x): x is string => !!x);
      for (const ref of refs) {
        if (!names.has(ref)) ctx.addIssue({ code: 'custom', path: ['alarms', i], message: `rule "${r.id}" uses metric "${ref}" which the profile does not define` });
      }
      const limits: unknown[] = ['above' in r ? r.above : undefined, 'below' in r ? r.below : undefined, 'limit' in r ? r.limit : undefined];
      for (const l of limits) {
        if (l && typeof l === 'object' && 'param' in l && !(String((l as { param: string }).param) in p.params)) {
          ctx.addIssue({ code: 'custom', path: ['alarms', i], message: `rule "${r.id}" uses parameter "${(l as { param: string }).param}" which the profile's params do not declare` });
        }
      }
    });
  });
export type DeviceProfile = z.infer<typeof DeviceProfile>;
