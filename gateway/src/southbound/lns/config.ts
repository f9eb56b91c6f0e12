import { z } from 'zod';
import { TopicSafeId } from '@gridgate/contract';
import { Secret, TlsFiles } from '../../util/config-fields.js';

export const LnsConfig = z
  .object({
    id: TopicSafeId.describe('Name of this network-server connection'),
    kind: z.enum(['ttn-v3', 'chirpstack-v4']),
    url: z.string().regex(/^(mqtts?|wss?):\/\//, 'use mqtt://, mqtts://, ws:// or wss://'),
    username: z.string().optional(),
    password: Secret.optional(),
    tls: TlsFiles.optional(),
    rejectUnauthorized: z.boolean().default(true),
    topics: z.array(z.string()).optional().describe('Default: v3/+/devices/+/up (TTN) or application/+/device/+/event/up (ChirpStack)'),
  })
  .strict();

export type LnsConfig = z.infer<typeof LnsConfig>;
