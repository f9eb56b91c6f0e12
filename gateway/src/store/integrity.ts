import { closeSync, existsSync, openSync, readSync, renameSync, statSync } from 'node:fs';

/**
 * Cheap checks of an SQLite file's header before opening it: the magic string, the page size, and (when
 * no write-ahead log could still complete it) whether the file is as long as the header says.
 */
export function headerProblem(head: Buffer, fileSize: number, hasWal: boolean): string | undefined {
  if (fileSize === 0) return undefined; // SQLite treats an empty file as a new database
  if (fileSize < 100 || head.toString('latin1', 0, 16) !== 'SQLite format 3\0') return 'not an SQLite database (the file header is wrong)';
  let pageSize = head.readUInt16BE(16);
  if (pageSize === 1) pageSize = 65536;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return `the header gives an impossible page size (${pageSize})`;
  if (hasWal) return undefined; // a checkpoint cut short is completed from the log: SQLite's own check decides
  const changeCounter = head.readUInt32BE(24);
  const pages = head.readUInt32BE(28);
  const validFor = head.readUInt32BE(92);
  if (pages > 0 && validFor === changeCounter && fileSize < pages * pageSize) return `truncated: ${fileSize} bytes where the header says ${pages * pageSize}`;
  if (fileSize % pageSize !== 0) return `truncated: ${fileSize} bytes is not a whole number of ${pageSize}-byte pages`;
  return undefined;
}

export function readHeaderProblem(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const size = statSync(path).size;
  const head = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  const wal = `${path}-wal`;
  return headerProblem(head, size, existsSync(wal) && statSync(wal).size > 0);
}

/** SQLite errors that mean the file is damaged (as opposed to missing permissions or a full disk). */
export function isDamage(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_IOERR_SHORT_READ');
}

/** Moves a damaged database (and its -wal / -shm) aside; returns the new path of the main file. */
export function quarantine(path: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  let target = `${path}.damaged-${stamp}`;
  for (let i = 1; existsSync(target); i++) target = `${path}.damaged-${stamp}-${i}`;
  renameSync(path, target);
  for (const suffix of ['-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  return target;
}
