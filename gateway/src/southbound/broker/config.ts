import { z } from 'zod';
import { Port, FilePath } from '../../util/config-fields.js';

export const BrokerConfig = z
  .object({
    enabled: z.boolean().default(true),
    host: z.string().default('127.0.0.1').describe('Address the embedded broker listens on; 0.0.0.0 to serve the cabinet LAN'),
    port: Port.default(1883),
    tls: z
      .object({
        host: z.string().optional(),
        port: Port.default(8883),
        cert: FilePath,
        key: FilePath,
        ca: FilePath.optional().describe('CA for client certificates'),
        requireClientCert: z.boolean().default(false),
      })
      .strict()
      .optional()
      .describe('Optional TLS listener, in addition to the plain one (set enabled ports deliberately)'),
    plain: z.boolean().default(true).describe('Serve the plain (non-TLS) listener; turn off where TLS is required'),
    allowAnonymous: z
      .boolean()
      .default(false)
      .describe('Lab only: accept clients without credentials (the client id is then taken as the device id)'),
    deviceKeySecret: z
      .string()
      .min(16, 'use at least 16 characters of a random secret')
      .optional()
      .describe('Fleet secret for derived device passwords: password = base64url(HMAC-SHA256(secret, deviceId)). Optional; per-device passwordHash is the default'),
    maxPacketBytes: z.number().int().min(256).max(268435455).default(65536).describe('Connections sending a larger MQTT packet are closed before it is buffered'),
    rateLimit: z
      .object({
        perSecond: z.number().positive().default(5).describe('Sustained messages per second per device, over all its connections and reconnects'),
        burst: z.number().int().positive().default(20),
      })
      .strict()
      .default({ perSecond: 5, burst: 20 })
      .describe('Beyond it a QoS 0 message is dropped; a QoS 1/2 one is not acknowledged and the connection is closed, so the device sends it again after reconnecting'),
    maxClients: z.number().int().positive().default(5000),
    maxConnectionsPerDevice: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(1)
      .describe('Connections one device may hold at once; a further one is refused (client ids: the device id, then "<id>:<suffix>"). A reconnect with the same client id replaces the old connection'),
    login: z
      .object({
        freeFailures: z.number().int().min(1).max(100).default(3).describe('Wrong passwords from one address for one device before its logins must wait'),
        maxBackoffS: z.number().int().min(1).max(3600).default(300).describe('Longest wait: 1 s after the free failures, doubling with each further wrong password, up to this'),
        concurrentChecks: z
          .number()
          .int()
          .min(1)
          .max(4)
          .default(1)
          .describe('Password checks (scrypt: 16 MiB and tens to hundreds of ms of CPU each) run at once; a few more wait, further logins are refused with "server unavailable" and retried by the device'),
      })
      .strict()
      .default({ freeFailures: 3, maxBackoffS: 300, concurrentChecks: 1 })
      .describe('Device logins against password guessing (per address and device) and against exhausting the CPU'),
  })
  .strict();

export type BrokerConfig = z.infer<typeof BrokerConfig>;
