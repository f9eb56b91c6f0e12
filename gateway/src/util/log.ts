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

export type LogFormat = 'json' | 'pretty';

/** `--log-format auto|json|pretty`: auto is readable lines on a terminal, JSON lines otherwise (journald, docker, files). */
export function chooseLogFormat(choice: string | undefined, tty: boolean): LogFormat {
  if (choice === undefined || choice === 'auto') return tty ? 'pretty' : 'json';
  if (choice === 'json' || choice === 'pretty') return choice;
  throw new Error(`--log-format ${choice}: auto, json or pretty`);
}

const LEVELS: Record<number, [string, string]> = { 10: ['TRACE', '90'], 20: ['DEBUG', '36'], 30: ['INFO', '32'], 40: ['WARN', '33'], 50: ['ERROR', '31'], 60: ['FATAL', '35'] };
const NOT_FIELDS = new Set(['level', 'time', 'msg', 'svc', 'pid', 'hostname']);

/** 2026-05-06T10:00:00.123+08:00: the machine's local time, with its offset (unambiguous, sorts as text). */
export function localIsoTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${off < 0 ? '-' : '+'}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
}

function fieldValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/** One pino JSON record as a line people read: time, level, message, then key=value fields; an error's stack below it. */
export function formatLogLine(rec: Record<string, unknown>, color = false): string {
  const [name, col] = LEVELS[Number(rec.level)] ?? [String(rec.level), '0'];
  const level = color ? `\x1b[${col}m${name.padEnd(5)}\x1b[0m` : name.padEnd(5);
  const time = typeof rec.time === 'number' ? localIsoTime(rec.time) : String(rec.time ?? '');
  const err = rec.err as { message?: string; stack?: string } | undefined;
  const fields = Object.entries(rec)
    .filter(([k, v]) => !NOT_FIELDS.has(k) && v !== undefined)
    .map(([k, v]) => (k === 'err' && err?.message !== undefined ? `err=${fieldValue(err.message)}` : `${color ? `\x1b[2m${k}=\x1b[0m` : `${k}=`}${fieldValue(v)}`));
  const stack = err?.stack && Number(rec.level) >= 50 ? `\n${err.stack.split('\n').map((l) => `    ${l}`).join('\n')}` : '';
  return `${time} ${level} ${String(rec.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}${stack}\n`;
}

/** A pino destination that writes readable lines (formatLogLine) to a stream, e.g. the terminal. */
export function prettyDestination(out: NodeJS.WritableStream, color: boolean): pino.DestinationStream {
  return {
    write(line: string) {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      out.write(formatLogLine(rec, color));
    },
  };
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
