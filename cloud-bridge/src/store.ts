import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CaseReport } from '@gridgate/contract';

export type Db = Database.Database;

/** The bridge's view of a case: its status in the case system, whichever adapter tracks it. */
export type BridgeCaseStatus = 'pending' | 'registered' | 'dispatched' | 'handled' | 'closed' | 'rejected' | 'reopened';

export interface ReportRow {
  report_id: string;
  gateway_id: string;
  status: CaseReport['status'];
  latest_seq: number;
  latest: string;
  grid_id: string;
  category_code: string;
  first_seen: number;
  register_by: number;
  dispatch_by: number;
  result_by: number;
  case_id: string | null;
  case_status: BridgeCaseStatus;
  received_at: number;
  registered_at: number | null;
  dispatched_at: number | null;
  handled_at: number | null;
  closed_at: number | null;
  verified_at: number | null;
  reopen_count: number;
  handled_count: number;
  delivered_seq: number;
  updated_at: number;
}

export interface DeliveryRow {
  id: number;
  message_id: string;
  report_id: string;
  gateway_id: string;
  seq: number;
  status: CaseReport['status'];
  payload: string;
  state: 'pending' | 'done' | 'skipped' | 'dead';
  attempts: number;
  next_at: number;
  last_error: string | null;
  claimed_by: string | null;
  lease_until: number | null;
  created_at: number;
  done_at: number | null;
}

export interface DownlinkRow {
  id: string;
  report_id: string;
  gateway_id: string;
  topic: string;
  payload: string;
  status: string;
  state: 'pending' | 'sent';
  attempts: number;
  next_at: number;
  claimed_by: string | null;
  lease_until: number | null;
  created_at: number;
  sent_at: number | null;
  reply_ok: number | null;
  reply_error: string | null;
}

export interface DeadLetterRow {
  id: number;
  at: number;
  kind: 'invalid' | 'undeliverable';
  topic: string;
  reason: string;
  payload: string;
  message_id: string | null;
  report_id: string | null;
  retried_at: number | null;
}

/**
 * The bridge's SQLite store: seen message ids (dedupe), reports and their cases, the delivery queue,
 * status commands for gateways, dead letters. WAL mode with a busy timeout: several bridge processes on
 * one host share the file, and SQLite's write lock serializes their claims.
 */
export function openStore(file: string): Db {
  mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 10000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS messages (
      id TEXT PRIMARY KEY, gateway_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
      report_id TEXT, topic TEXT NOT NULL, received_at INTEGER NOT NULL, received_by TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS reports (
      report_id TEXT PRIMARY KEY, gateway_id TEXT NOT NULL, status TEXT NOT NULL, latest_seq INTEGER NOT NULL,
      latest TEXT NOT NULL, grid_id TEXT NOT NULL, category_code TEXT NOT NULL, first_seen INTEGER NOT NULL,
      register_by INTEGER NOT NULL, dispatch_by INTEGER NOT NULL, result_by INTEGER NOT NULL,
      case_id TEXT, case_status TEXT NOT NULL DEFAULT 'pending', received_at INTEGER NOT NULL,
      registered_at INTEGER, dispatched_at INTEGER, handled_at INTEGER, closed_at INTEGER, verified_at INTEGER,
      reopen_count INTEGER NOT NULL DEFAULT 0, handled_count INTEGER NOT NULL DEFAULT 0,
      delivered_seq INTEGER NOT NULL DEFAULT -1, updated_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS reports_first_seen ON reports (first_seen);
    CREATE TABLE IF NOT EXISTS deliveries (
      id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL UNIQUE, report_id TEXT NOT NULL,
      gateway_id TEXT NOT NULL, seq INTEGER NOT NULL, status TEXT NOT NULL, payload TEXT NOT NULL,
      state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,
      last_error TEXT, claimed_by TEXT, lease_until INTEGER, created_at INTEGER NOT NULL, done_at INTEGER);
    CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at);
    CREATE INDEX IF NOT EXISTS deliveries_report ON deliveries (report_id, state, seq);
    CREATE TABLE IF NOT EXISTS case_events (
      id INTEGER PRIMARY KEY AUTOINCREMENT, report_id TEXT NOT NULL, at INTEGER NOT NULL, event TEXT NOT NULL,
      source TEXT NOT NULL, note TEXT);
    CREATE INDEX IF NOT EXISTS case_events_report ON case_events (report_id, id);
    CREATE TABLE IF NOT EXISTS downlinks (
      id TEXT PRIMARY KEY, report_id TEXT NOT NULL, gateway_id TEXT NOT NULL, topic TEXT NOT NULL,
      payload TEXT NOT NULL, status TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',
      attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, claimed_by TEXT, lease_until INTEGER,
      created_at INTEGER NOT NULL, sent_at INTEGER, reply_ok INTEGER, reply_error TEXT);
    CREATE INDEX IF NOT EXISTS downlinks_due ON downlinks (state, next_at);
    CREATE TABLE IF NOT EXISTS dead_letters (
      id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, topic TEXT NOT NULL,
      reason TEXT NOT NULL, payload TEXT NOT NULL, message_id TEXT, report_id TEXT, retried_at INTEGER);
  `);
  return db;
}

/** BEGIN IMMEDIATE: take the write lock up front, so two processes never both read-then-claim the same row. */
export function immediate<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
}
