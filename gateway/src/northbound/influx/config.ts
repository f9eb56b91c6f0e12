import { z } from 'zod';

/**
 * Optional InfluxDB sink. InfluxDB 2.x/3.x and 1.8+ (and VictoriaMetrics) accept the same /api/v2/write:
 * for 1.8 give `bucket: database/retention-policy` and `token: user:password`. docs/history.md.
 */
export const InfluxConfig = z
  .object({
    url: z.string().regex(/^https?:\/\//, 'use http:// or https://').describe('InfluxDB base URL, e.g. http://influxdb:8086'),
    token: z
      .union([z.string().min(1), z.number().transform(String)])
      .optional()
      .describe('Secret: write ${ENV_VAR} here, never the value itself. InfluxDB 1.8: user:password'),
    org: z.string().default('').describe('Organization (InfluxDB 2.x); ignored by 1.8'),
    bucket: z.string().min(1).describe('Bucket (2.x/3.x) or database/retention-policy (1.8)'),
    batchSize: z.number().int().min(1).max(50_000).default(5000).describe('Most points per write request'),
    flushIntervalMs: z.number().int().min(0).max(600_000).default(1000).describe('How long new points wait to gather into a batch'),
    timeoutMs: z.number().int().min(100).default(10_000),
    retry: z
      .object({ minMs: z.number().int().min(10).default(1000), maxMs: z.number().int().min(100).default(60_000) })
      .strict()
      .default({ minMs: 1000, maxMs: 60_000 })
      .describe('Backoff between failed writes; the points wait on disk in the outbox meanwhile'),
    rejectUnauthorized: z.boolean().default(true),
  })
  .strict();
export type InfluxConfig = z.infer<typeof InfluxConfig>;
