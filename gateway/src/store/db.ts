import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ensureDataDir } from './data-dir.js';
import { isDamage, quarantine, readHeaderProblem } from './integrity.js';

export type Db = Database.Database;

export type Synchronous = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

export interface DamageReport {
  file: string;
  movedTo: string;
  reason: string;
}

export interface OpenOptions {
  synchronous?: Synchronous;
  file?: string;
  /** SQLite page cache in MiB (better-sqlite3's default is 16 MiB per connection). */
  cacheMb?: number;
  log?: Logger;
  /** Called after a damaged file was moved aside and a new one opened (e.g. to salvage what is readable). */
  onDamaged?: (db: Db, report: DamageReport) => void;
}

/**
 * Opens (creating if needed) one of the gateway's databases in its data directory, in WAL mode.
 * A damaged file (bad header, truncated, failing SQLite's quick check) is moved aside, named
 * `<file>.damaged-<time>`, and a new one is started: the gateway says so and keeps running.
 * Each module creates its own tables with `CREATE TABLE IF NOT EXISTS` where it is constructed.
 */
export function openDatabase(dataDir: string, opts: OpenOptions = {}): Db {
  ensureDataDir(dataDir);
  const path = join(dataDir, opts.file ?? 'gridgate.db');
  let reason = readHeaderProblem(path);
  if (!reason) {
    try {
      const db = openAt(path, opts);
      const check = db.pragma('quick_check(1)', { simple: true }) as string;
      if (check === 'ok') return db;
      db.close();
      reason = `SQLite's quick check failed: ${check}`;
    } catch (e) {
      if (!isDamage(e)) throw new Error(`cannot open the database ${path}: ${(e as Error).message}`, { cause: e });
      reason = (e as Error).message;
    }
  }
  const movedTo = quarantine(path);
  opts.log?.error(
    { file: path, movedTo, reason },
    `database ${path} is damaged (${reason}); it was moved aside to ${movedTo} and a new one started. Inspect or recover it with: sqlite3 ${movedTo} .recover`,
  );
  const db = openAt(path, opts);
  opts.onDamaged?.(db, { file: path, movedTo, reason });
  return db;
}

function openAt(path: string, opts: OpenOptions): Db {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
    if (opts.cacheMb) db.pragma(`cache_size = ${-Math.round(opts.cacheMb * 1024)}`);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_size_limit = 67108864'); // a WAL that grew during a burst is cut back after checkpoints
    db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

export function getMeta(db: Db, key: string): string | undefined {
  return (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}
