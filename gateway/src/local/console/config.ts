import { z } from 'zod';

/** `console:` in the gateway config: the local web console served beside the HTTP API (same host, port, TLS). */
export const ConsoleConfig = z
  .object({
    enabled: z.boolean().default(true).describe('Serve the console at /console on the API port (api.enabled must be true)'),
    passwordHash: z
      .union([z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/, 'must be a scrypt hash written by `gridgate console set-password` (or `gridgate console hash-password`)'), z.literal('')])
      .optional()
      .describe('scrypt hash of the admin password, set with `gridgate console set-password`, or ${ENV_VAR} holding a hash. No hash, no console login (never a default password); the API token still works'),
    sessionTtlS: z.number().int().min(5).max(7 * 86400).default(8 * 3600).describe('A login lasts at most this long'),
    idleTimeoutS: z.number().int().min(5).max(7 * 86400).default(1800).describe('A session unused for this long ends'),
    login: z
      .object({
        maxFailures: z.number().int().min(1).max(100).default(5).describe('Wrong passwords from one address before each further login from it waits (for the admin user: one count per address and user)'),
        firstBackoffS: z.number().int().min(1).max(3600).default(1).describe('The wait after the maxFailures-th wrong password; it doubles with each further one (1 s, 2 s, 4 s …) up to maxBackoffS'),
        maxBackoffS: z.number().int().min(1).max(86400).default(60).describe('The longest wait between two tries'),
        windowS: z.number().int().min(1).max(86400).default(300).describe('Wrong passwords are forgotten this long after the last one (or after its wait)'),
      })
      .strict()
      .default({ maxFailures: 5, firstBackoffS: 1, maxBackoffS: 60, windowS: 300 })
      .describe('Login limit: only logins sent as JSON from the console page itself count (a form or script on another site is refused without counting)'),
  })
  .strict();
export type ConsoleConfig = z.infer<typeof ConsoleConfig>;
export const defaultConsoleConfig: ConsoleConfig = ConsoleConfig.parse({});
