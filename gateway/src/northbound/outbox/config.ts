import { z } from 'zod';

/**
 * The outbox: everything bound for the central broker, on disk before anything acknowledges it.
 * docs/durability.md explains each setting and what a power cut can cost.
 */
export const OutboxConfig = z
  .object({
    synchronous: z
      .enum(['FULL', 'NORMAL', 'OFF'])
      .default('FULL')
      .describe('SQLite synchronous level of the outbox. FULL: a power cut loses nothing that was acknowledged. NORMAL: a power cut may lose the last few seconds of acknowledged messages. OFF: a power cut may corrupt the outbox. See docs/durability.md'),
    order: z
      .enum(['priority', 'seq'])
      .default('priority')
      .describe('priority: alarms, reports, events, availability and replies overtake a telemetry backlog (each keeps its own order per device); seq: every message in strict seq order'),
    window: z.number().int().min(1).max(65535).default(256).describe("Publishes awaiting the broker's acknowledgement at a time (lowered to the broker's Receive Maximum)"),
    telemetry: z
      .object({
        quotaMb: z.number().min(1).default(512).describe('Disk the outbox may use; beyond it telemetry is thinned, then dropped oldest first. Alarms, reports and events are never dropped'),
        ttlH: z.number().positive().default(168).describe('Telemetry still undelivered after this many hours is dropped'),
        keepEvery: z.number().int().min(2).max(1000).default(4).describe('Thinning keeps every Nth telemetry message of each device'),
      })
      .strict()
      .default({ quotaMb: 512, ttlH: 168, keepEvery: 4 })
      .describe('What may be removed: telemetry only, under a disk quota and a time-to-live'),
  })
  .strict();
export type OutboxConfig = z.infer<typeof OutboxConfig>;
