import { z } from 'zod';
import { Port, Secret, FilePath } from '../../util/config-fields.js';

export const ApiConfig = z
  .object({
    enabled: z.boolean().default(true),
    host: z.string().default('127.0.0.1').describe('Address of the local HTTP API (and console); 0.0.0.0 to serve the cabinet LAN'),
    port: Port.default(8080),
    token: Secret.optional().describe('Bearer token for /api/* (and /metrics unless metricsPublic). Without one, /api/* is refused'),
    tls: z.object({ cert: FilePath, key: FilePath }).strict().optional().describe('Serve HTTPS with this certificate'),
    metricsPublic: z.boolean().default(false).describe('Serve /metrics without the token (for a Prometheus on a trusted network)'),
  })
  .strict();

export type ApiConfig = z.infer<typeof ApiConfig>;
