import { z } from 'zod';

/** Version of the public contract; bumped only for breaking changes (then the topic prefix moves to /v2). */
export const CONTRACT_VERSION = 1;

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const MessageId = z
  .string()
  .regex(UUID_V7, 'must be a lower-case UUIDv7')
  .describe('UUIDv7; the idempotency key: a consumer that dedupes by id sees each message once');

export const IsoUtc = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/, 'must be ISO 8601 UTC ending in Z')
  .describe('ISO 8601 timestamp in UTC');

/** Identifiers that appear in MQTT topics: no wildcards, separators or whitespace. */
export const TopicSafeId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" or "-" (it becomes an MQTT topic level)');

export const GatewayId = TopicSafeId.describe('Gateway identifier, unique in the city');
export const DeviceId = TopicSafeId.describe('Device identifier, unique on its gateway');

/** 单元网格编码: 14 digits (county 6 + street 3 + community 3 + grid 2), or Beijing's 15-digit form. */
export const GridId = z
  .string()
  .regex(/^\d{14,15}$/, 'a unit-grid ID has 14 digits (county 6 + street 3 + community 3 + grid 2), or 15 in the Beijing form')
  .describe('Unit-grid ID (单元网格编码)');

export const Location = z
  .object({
    lat: z.number().min(-90).max(90).describe('WGS84 latitude, degrees'),
    lon: z.number().min(-180).max(180).describe('WGS84 longitude, degrees'),
  })
  .strict()
  .describe('WGS84 position');

/** GB/T 30428 component minor class (4 digits, e.g. 0101 上水井盖, 0113 消防设施, 0118 路灯). */
export const ComponentCode = z
  .string()
  .regex(/^\d{4}$/, 'a component class code has 4 digits (major 2 + minor 2), e.g. 0101')
  .describe('GB/T 30428 component class: major 2 digits + minor 2 digits');

/** GB/T 30428 event type (4 digits, e.g. 0302 工地扬尘, 0505 机动车乱停放). */
export const EventCode = z
  .string()
  .regex(/^\d{4}$/, 'an event type code has 4 digits (major 2 + minor 2), e.g. 0505')
  .describe('GB/T 30428 event type: major 2 digits + minor 2 digits');

export const Severity = z.enum(['critical', 'major', 'minor', 'warning']).describe('Alarm severity, most urgent first');

export const MetricValue = z.union([z.number(), z.boolean(), z.string().max(256)]);

/** A finite number: NaN and Infinity never appear in a message (JSON cannot carry them honestly). */
export const FiniteNumber = z.number().refine(Number.isFinite, 'must be a finite number');

/** Fields every message carries. */
export const envelopeShape = {
  id: MessageId,
  ts: IsoUtc,
  gatewayId: GatewayId,
  seq: z.number().int().nonnegative().describe('Per-gateway sequence number, +1 per message; a gap means messages were lost or thinned. Status messages repeat the latest number: they describe the connection and are outside the sequence'),
  v: z.literal(CONTRACT_VERSION).describe('Contract version'),
} as const;

/** Fields every device message carries, in addition to the envelope. */
export const deviceShape = {
  deviceId: DeviceId,
  gridId: GridId,
  location: Location,
  componentCode: ComponentCode,
  assetType: z.string().min(1).describe('What the device watches: manhole-cover, hydrant, street-light, dust-monitor, ...'),
  assetId: z
    .string()
    .regex(/^\d{16}$/, 'a component ID has 16 digits')
    .optional()
    .describe('GB/T 30428 16-digit component ID of the watched asset, when configured'),
} as const;

export type GridId = z.infer<typeof GridId>;
export type Location = z.infer<typeof Location>;
export type ComponentCode = z.infer<typeof ComponentCode>;
export type EventCode = z.infer<typeof EventCode>;
export type Severity = z.infer<typeof Severity>;
