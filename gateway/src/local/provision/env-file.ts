import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, chmodSync } from 'node:fs';

/** Sets NAME=value in a systemd/docker style environment file (one NAME=value a line), keeping the other lines. Pure. */
export function setEnvLine(text: string, name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`"${name}" is not an environment variable name`);
  if (/[\n\r]/.test(value)) throw new Error('a value in an environment file cannot span lines');
  const lines = text ? text.replace(/\n$/, '').split('\n') : [];
  const at = lines.findIndex((l) => l.replace(/^export\s+/, '').startsWith(`${name}=`));
  const line = `${name}=${value}`;
  if (at >= 0) lines[at] = line;
  else lines.push(line);
  return `${lines.join('\n')}\n`;
}

/** Writes a file only its owner can read (0600), replacing it in one step. */
export function writePrivate(file: string, content: string | Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export function upsertEnvFile(file: string, name: string, value: string): void {
  writePrivate(file, setEnvLine(existsSync(file) ? readFileSync(file, 'utf8') : '', name, value));
}

/** NAME=value lines of an environment file (systemd EnvironmentFile / docker --env-file); comments and blanks skipped. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

/** The variables of `--env-file <file>`; a file that cannot be read is an error naming it. */
export function readEnvFile(file: string): Record<string, string> {
  try {
    return parseEnvFile(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`--env-file ${file}: cannot read it (${(e as Error).message})`);
  }
}

/**
 * Makes sure the environment file sets `name`: a random value (32 bytes, base64url) when it does not yet;
 * an existing one is kept (a running gateway and its API clients already use it). Returns whether it made one.
 */
export function ensureEnvSecret(file: string, name: string): boolean {
  if (existsSync(file) && parseEnvFile(readFileSync(file, 'utf8'))[name]) return false;
  upsertEnvFile(file, name, randomBytes(32).toString('base64url'));
  return true;
}
