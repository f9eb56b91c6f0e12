import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Db } from './db.js';

/**
 * Copies whatever can still be read from a damaged database (moved aside) into its new replacement:
 * every table whose definition is readable, row by row in rowid order, stopping at the first unreadable
 * page of each. Outbox messages keep their ids and seqs, so those the central side already has are
 * recognised as repeats. Returns the number of rows saved per table.
 */
export function salvageDatabase(damagedPath: string, into: Db, log: Logger): Record<string, number> {
  const saved: Record<string, number> = {};
  let src: Database.Database;
  try {
    src = new Database(damagedPath, { readonly: true, fileMustExist: true });
  } catch (e) {
    log.warn({ file: damagedPath, err: (e as Error).message }, 'the damaged database cannot be opened: nothing salvaged');
    return saved;
  }
  try {
    let tables: Array<{ name: string; sql: string }> = [];
    try {
      tables = src.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as typeof tables;
    } catch (e) {
      log.warn({ file: damagedPath, err: (e as Error).message }, 'the damaged database has no readable schema: nothing salvaged');
      return saved;
    }
    for (const t of tables) {
      saved[t.name] = 0;
      try {
        into.exec(t.sql.replace(/^CREATE TABLE\s+(IF NOT EXISTS\s+)?/i, 'CREATE TABLE IF NOT EXISTS '));
        const cols = (src.prepare(`PRAGMA table_info("${t.name}")`).all() as Array<{ name: string }>).map((c) => `"${c.name}"`);
        const insert = into.prepare(`INSERT OR IGNORE INTO "${t.name}" (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
        const batch: unknown[][] = [];
        const commit = () => {
          into.transaction(() => {
            for (const r of batch) saved[t.name]! += insert.run(...r).changes;
          })();
          batch.length = 0;
        };
        let lastRead = Number.MIN_SAFE_INTEGER;
        const scan = (sql: string, param?: number): void => {
          for (const row of (param === undefined ? src.prepare(sql).raw().iterate() : src.prepare(sql).raw().iterate(param)) as Iterable<unknown[]>) {
            lastRead = row[0] as number;
            batch.push(row.slice(1));
            if (batch.length >= 1000) commit();
          }
        };
        const select = `SELECT rowid, ${cols.join(', ')} FROM "${t.name}"`;
        if (/WITHOUT\s+ROWID/i.test(t.sql)) {
          try {
            scan(select);
          } catch (e) {
            log.warn({ table: t.name, err: (e as Error).message }, 'salvage stopped at an unreadable part of a table');
          }
        } else {
          // Rowid order; past an unreadable page, skip ahead to the next rowid that can be reached.
          let after = Number.MIN_SAFE_INTEGER;
          for (let rounds = 0; rounds < 10_000; rounds++) {
            try {
              scan(`${select} WHERE rowid > ? ORDER BY rowid`, after);
              break;
            } catch (e) {
              commit();
              after = Math.max(after, lastRead);
              const next = nextReachable(src, t.name, after);
              log.warn({ table: t.name, err: (e as Error).message, skippedAfter: after, resumeAfter: next }, 'salvage skipped an unreadable part of a table');
              if (next === undefined) break;
              after = next;
            }
          }
        }
        commit();
      } catch (e) {
        log.warn({ table: t.name, err: (e as Error).message }, 'a table of the damaged database could not be salvaged');
      }
    }
  } finally {
    src.close();
  }
  log.warn({ file: damagedPath, saved }, 'salvaged what was readable from the damaged database');
  return saved;
}

/** The smallest rowid bound after `after` from which the table can be read again (skipping a damaged page). */
function nextReachable(src: Database.Database, table: string, after: number): number | undefined {
  const readable = (p: number) => {
    try {
      src.prepare(`SELECT rowid FROM "${table}" WHERE rowid > ? ORDER BY rowid LIMIT 1`).raw().get(p);
      return true;
    } catch {
      return false;
    }
  };
  let step = 1;
  while (step < 2 ** 40 && !readable(after + step)) step *= 2;
  if (step >= 2 ** 40) return undefined;
  let hi = after + step;
  let lo = after + Math.floor(step / 2);
  while (hi - lo > 1) {
    const mid: number = lo + Math.floor((hi - lo) / 2);
    if (readable(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
