import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type Db = Database.Database;

export type Synchronous = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

/**
 * Opens (creating if needed) the gateway's state database in its data directory, in WAL mode.
 * Each module creates its own tables with `CREATE TABLE IF NOT EXISTS` where it is constructed.
 */
export function openDatabase(dataDir: string, opts: { synchronous?: Synchronous; file?: string } = {}): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o750 });
  const db = new Database(join(dataDir, opts.file ?? 'gridgate.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  return db;
}

export function getMeta(db: Db, key: string): string | undefined {
  return (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}
