import { z } from 'zod';
import { DEFAULT_TOPIC_PREFIX } from '@gridgate/contract';
import { Secret, TlsFiles } from '../util/config-fields.js';

export const UplinkConfig = z
  .object({
    url: z
      .string()
      .regex(/^(mqtts?|wss?):\/\//, 'use mqtt://, mqtts://, ws:// or wss://')
      .describe('Central broker URL; mqtts:// wherever it crosses a network'),
    clientId: z.string().optional().describe('Default: the gateway id'),
    protocolVersion: z
      .union([z.literal(4), z.literal(5)])
      .default(5)
      .describe('MQTT 5 (default) or 3.1.1 (4) for central brokers without MQTT 5'),
    username: z.string().optional(),
    password: Secret.optional(),
    tls: TlsFiles.optional(),
    rejectUnauthorized: z.boolean().default(true).describe('Verify the central broker certificate (keep true)'),
    topicPrefix: z
      .string()
      .regex(/^[^#+]+$/, 'no MQTT wildcards')
      .default(DEFAULT_TOPIC_PREFIX),
    keepaliveS: z.number().int().min(5).max(3600).default(30),
    statusIntervalS: z.number().int().min(5).default(60).describe('How often the retained status with counters is refreshed'),
    reconnect: z
      .object({ minMs: z.number().int().min(100).default(1000), maxMs: z.number().int().min(1000).default(30000) })
      .strict()
      .default({ minMs: 1000, maxMs: 30000 }),
  })
  .strict();

export type UplinkConfig = z.infer<typeof UplinkConfig>;
