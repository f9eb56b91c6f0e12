import { z } from 'zod';
import { envelopeShape, IsoUtc } from '../common.js';

export const GatewayStatus = z
  .object({
    ...envelopeShape,
    type: z.literal('status'),
    state: z.enum(['online', 'offline']),
    reason: z.string().max(200).optional().describe('Why offline: "last-will" when the broker published it, "shutdown" on a clean stop'),
    version: z.string(),
    startedAt: IsoUtc,
    uptimeS: z.number().nonnegative(),
    counters: z.record(z.string(), z.number()).describe('Running counters: messages in/out, rejected, alarms, backlog'),
  })
  .strict()
  .describe('Retained gateway birth/death message; the death message is the MQTT Last Will');
export type GatewayStatus = z.infer<typeof GatewayStatus>;
