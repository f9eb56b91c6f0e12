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
