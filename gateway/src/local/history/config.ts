import { z } from 'zod';

/** Local history of telemetry on the gateway: raw samples for a while, 1-minute means for longer. */
export const HistoryConfig = z
  .object({
    enabled: z.boolean().default(true),
    rawRetentionH: z.number().positive().default(24).describe('Raw samples are kept this many hours'),
    minuteRetentionD: z.number().positive().default(30).describe('1-minute means (with min, max and count) are kept this many days'),
    maxPoints: z.number().int().min(10).max(1_000_000).default(10_000).describe('Most points one query returns per metric'),
  })
  .strict();
export type HistoryConfig = z.infer<typeof HistoryConfig>;
