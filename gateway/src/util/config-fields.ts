// Field shapes shared by the feature config schemas (each feature owns its section; config/schema.ts assembles them).
import { z } from 'zod';

export const Port = z.number().int().min(1).max(65535);
export const Secret = z
  .union([z.string().min(1), z.number().transform(String)])
  .describe('Secret: write ${ENV_VAR} here, never the value itself');
export const FilePath = z.string().min(1).describe('Path, relative to the config file');
export const TlsFiles = z
  .object({
    ca: FilePath.optional().describe('CA bundle (PEM) that signs the peer'),
    cert: FilePath.optional().describe('Own certificate (PEM)'),
    key: FilePath.optional().describe('Own private key (PEM)'),
  })
  .strict();
