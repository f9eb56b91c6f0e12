import { z } from 'zod';
import { DeviceId, envelopeShape, IsoUtc } from '../common.js';

export const Availability = z
  .object({
    ...envelopeShape,
    type: z.literal('availability'),
    deviceId: DeviceId,
    state: z.enum(['online', 'offline']),
    lastSeen: IsoUtc.optional(),
    reason: z.string().max(200).optional(),
  })
  .strict()
  .describe('Retained availability of one device, camera or OPC-UA endpoint');
export type Availability = z.infer<typeof Availability>;
