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
