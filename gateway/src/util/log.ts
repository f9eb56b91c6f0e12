import pino, { type Logger } from 'pino';

/** Paths that may hold secrets: pino replaces them before anything is written. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'passwordHash',
  '*.passwordHash',
  'deviceKeySecret',
  '*.deviceKeySecret',
  'token',
  '*.token',
  'key',
  '*.key',
  'authorization',
  '*.authorization',
  'headers.authorization',
];

export function createLogger(level: string, dest?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { svc: 'gridgate' } }, dest ?? pino.destination({ dest: 2, sync: false }));
}

/**
 * mqtt.js's `log` option: a no-op unless `DEBUG` asks for mqtt.js's own trace. Its default, the `debug`
 * package, collects every call's arguments into an array even when disabled: one call per packet was
 * ~6 % of the bytes the gateway allocates at 2,000 msg/s (a heap sampling profile of bench:ingest).
 */
export function mqttClientLog(env: NodeJS.ProcessEnv = process.env): ((...args: unknown[]) => void) | undefined {
  return /mqttjs/.test(env.DEBUG ?? '') ? undefined : noop;
}

function noop(): void {}
