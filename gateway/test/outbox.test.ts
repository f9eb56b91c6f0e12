import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AckTracker } from '../src/northbound/outbox/ack-tracker.js';
import { MqttDelivery } from '../src/northbound/mqtt-delivery.js';
import { RecentRows } from '../src/northbound/outbox/recent-rows.js';
import { SqliteOutbox, type OutboxOptions } from '../src/northbound/outbox/outbox.js';
import { planOldestFirst, planThinning } from '../src/northbound/outbox/thinning.js';
import { openDatabase } from '../src/store/db.js';
import { headerProblem } from '../src/store/integrity.js';
import { salvageDatabase } from '../src/store/salvage.js';
import type { DeliveryClass } from '../src/northbound/outbound.js';
import { uuidv7 } from '@gridgate/contract';
import { ScriptedBroker, turns } from './helpers/scripted-broker.js';

interface Setup {
  dir: string;
  outbox: SqliteOutbox;
  broker: ScriptedBroker;
  delivery: MqttDelivery;
  logs: Array<{ msg: string; [k: string]: unknown }>;
  close(): void;
}

function setup(o: Partial<OutboxOptions> & { dir?: string; order?: 'priority' | 'seq'; window?: number } = {}): Setup {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'gg-outbox-'));
  const logs: Setup['logs'] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void logs.push(JSON.parse(s) as Setup['logs'][number]) });
  const db = openDatabase(dir, { log });
  const outbox = new SqliteOutbox(db, { synchronous: 'FULL', quotaBytes: 64 * 1024 * 1024, ttlMs: 3_600_000, keepEvery: 4, log, maintenanceEveryMs: 3_600_000, ...o });
  const broker = new ScriptedBroker();
  const delivery = new MqttDelivery(outbox.destination('mqtt', ['priority', 'telemetry']), broker, { window: o.window ?? 16, order: o.order ?? 'priority', log });
  outbox.start();
  delivery.start();
  return {
    dir,
    outbox,
    broker,
    delivery,
    logs,
    close() {
      delivery.stop();
      outbox.close();
      db.close();
    },
  };
}

function put(outbox: SqliteOutbox, cls: DeliveryClass, device: string, extra: Record<string, unknown> = {}): number {
  const seq = outbox.next();
  outbox.put({ topic: `gridgate/v1/gw/${cls}/${device}`, message: { id: uuidv7(), seq, type: cls, deviceId: device, ...extra } as never, qos: 1, retain: false, class: cls });
  return seq;
}

const durable = (o: SqliteOutbox) => new Promise<void>((res, rej) => o.whenDurable((e) => (e ? rej(e) : res())));
const seqsOf = (b: ScriptedBroker) => b.log.map((p) => p.seq);

test('AckTracker: the watermark moves only over a gap-free prefix of what was sent', () => {
  const t = new AckTracker(10);
  for (const s of [12, 13, 15, 16]) t.sent(s);
  assert.equal(t.ack(13), 0);
  assert.equal(t.watermark, 10);
  assert.equal(t.ack(12), 2);
  assert.equal(t.watermark, 13);
  assert.equal(t.ack(16), 0);
  assert.equal(t.ack(15), 2);
  assert.equal(t.watermark, 16);
  assert.equal(t.outstanding, 0);
});

test('planThinning keeps every Nth message of each device and never a held one; planOldestFirst skips held ones', () => {
  const chunk = Array.from({ length: 12 }, (_, i) => ({ seq: i + 1, device: i % 2 ? 'b' : 'a' }));
  // a: 1,3,5,7,9,11 → keep 1 and 9 (1st and 5th); b: 2,4,6,8,10,12 → keep 2 and 10
  assert.deepEqual(planThinning(chunk, 4), [3, 4, 5, 6, 7, 8, 11, 12]);
  assert.deepEqual(planThinning(chunk, 4, [{ after: 4, upTo: 6 }]), [3, 4, 7, 8, 11, 12]);
  assert.deepEqual(planOldestFirst(chunk, 3, [{ after: 0, upTo: 2 }]), [3, 4, 5]);
});

test('committed messages survive a restart: seq continues and the replay starts right after the acknowledged watermark', async () => {
  const a = setup();
  const first = [put(a.outbox, 'telemetry', 'd1'), put(a.outbox, 'telemetry', 'd2'), put(a.outbox, 'alarm', 'd1'), put(a.outbox, 'telemetry', 'd1')];
  await durable(a.outbox);
  a.broker.connect();
  await turns();
  assert.deepEqual(seqsOf(a.broker), [3, 1, 2, 4], 'the alarm first, then telemetry in order');
  a.broker.ack(2); // the alarm and telemetry 1
  await turns();
  a.close(); // a clean stop commits progress; a power cut would only repeat them

  const b = setup({ dir: a.dir });
  assert.equal(b.outbox.next(), first[first.length - 1]! + 1, 'seq continues after the highest stored');
  b.broker.connect();
  await turns();
  assert.deepEqual(seqsOf(b.broker), [2, 4], 'only what was not acknowledged, in order');
  b.broker.ack();
  await turns();
  b.outbox.commitProgress();
  assert.equal(b.outbox.stats().backlog, 0);
  b.close();
});

test('at FULL a commit is acknowledged and delivered only once its write-ahead log is synced, and the sync runs off the event loop', async () => {
  const s = setup({ synchronous: 'FULL' });
  s.broker.connected = false; // nothing delivered meanwhile: this is about durability
  const db = (s.outbox as unknown as { db: import('better-sqlite3').Database }).db;
  assert.equal(db.pragma('synchronous', { simple: true }), 1, 'the connection itself commits at NORMAL (no fsync on the event loop)');
  put(s.outbox, 'alarm', 'd1');
  let acked = false;
  s.outbox.whenDurable(() => (acked = true));
  s.outbox.flush(); // committed to the WAL, not yet synced
  assert.equal(acked, false, 'no acknowledgement before the WAL is on disk');
  assert.equal(s.outbox.readRows('priority', 0, 10).length, 0, 'destinations do not read it yet');
  await durable(s.outbox);
  assert.equal(acked, true);
  assert.equal(s.outbox.readRows('priority', 0, 10).length, 1);
  const synced = s.outbox.stats().walSync!;
  assert.ok(synced.syncs >= 1, 'the sync is timed (status and /metrics show it)');
  assert.equal(synced.counts.reduce((a, b) => a + b, 0), synced.syncs);
  assert.ok(synced.seconds > 0 && synced.slowestSeconds > 0 && synced.slowestSeconds <= synced.seconds);
  put(s.outbox, 'alarm', 'd1');
  let atClose = false;
  s.outbox.whenDurable(() => (atClose = true));
  s.close();
  assert.equal(atClose, true, 'close syncs what is waiting and answers it');
});

test('at NORMAL a commit is acknowledged as soon as it is written', () => {
  const s = setup({ synchronous: 'NORMAL' });
  s.broker.connected = false;
  put(s.outbox, 'alarm', 'd1');
  let acked = false;
  s.outbox.whenDurable(() => (acked = true));
  s.outbox.flush();
  assert.equal(acked, true);
  assert.equal(s.outbox.readRows('priority', 0, 10).length, 1);
  assert.equal(s.outbox.stats().walSync, undefined, 'SQLite syncs at checkpoints only: nothing waits for a sync to time');
  s.close();
});

test('RecentRows: holds every row after its start, answers only reads it can answer whole, and forgets what was read', () => {
  const row = (seq: number) => ({ seq, lane: 'telemetry' as const, topic: 't', payload: String(seq), qos: 1 as const, retain: false, class: 'telemetry' as const, createdAt: 0 });
  const r = new RecentRows(10, 4);
  for (const s of [11, 12, 14, 15]) r.append(row(s));
  assert.deepEqual(r.read(10, 10)!.map((x) => x.seq), [11, 12, 14, 15]);
  assert.deepEqual(r.read(12, 1)!.map((x) => x.seq), [14]);
  assert.deepEqual(r.read(13, 10)!.map((x) => x.seq), [14, 15], 'a seq between rows (another lane) is fine');
  assert.equal(r.read(9, 10), undefined, 'row 10 and before are not held');
  r.append(row(16)); // over the cap: 11 is dropped
  assert.equal(r.read(10, 10), undefined);
  assert.deepEqual(r.read(11, 10)!.map((x) => x.seq), [12, 14, 15, 16]);
  r.forgetThrough(14);
  assert.equal(r.size, 2);
  assert.equal(r.read(12, 10), undefined);
  assert.deepEqual(r.read(14, 10)!.map((x) => x.seq), [15, 16]);
  r.reset(20);
  assert.equal(r.read(16, 10), undefined, 'after a reset nothing before it is answered');
  assert.deepEqual(r.read(20, 10), []);
});

test('rows a destination reads from memory are the rows in the database', async () => {
  const s = setup({ synchronous: 'FULL' });
  s.broker.connected = false;
  for (let i = 0; i < 5; i++) put(s.outbox, i % 2 ? 'alarm' : 'telemetry', `d${i}`, { n: i });
  await durable(s.outbox);
  const memory = { priority: s.outbox.readRows('priority', 0, 10), telemetry: s.outbox.readRows('telemetry', 0, 10) };
  const db = (s.outbox as unknown as { db: import('better-sqlite3').Database }).db;
  const fromDb = new SqliteOutbox(db, { synchronous: 'NORMAL', quotaBytes: 1e9, ttlMs: 1e9, keepEvery: 4, log: pino({ level: 'silent' }) }); // holds nothing in memory
  const strip = (rows: Array<{ createdAt: number }>) => rows.map(({ createdAt, ...r }) => (assert.ok(createdAt > 0), r));
  assert.equal(memory.telemetry.length, 3);
  assert.equal(memory.priority.length, 2);
  assert.deepEqual(strip(memory.telemetry), strip(fromDb.readRows('telemetry', 0, 10)));
  assert.deepEqual(strip(memory.priority), strip(fromDb.readRows('priority', 0, 10)));
  s.close();
});

test('the backlog count survives a crash: rows committed after the last progress commit are counted at the next start', async () => {
  const s = setup({ synchronous: 'FULL' });
  s.broker.connected = false; // an outage: everything stays in the backlog
  for (let i = 0; i < 10; i++) put(s.outbox, i % 5 ? 'telemetry' : 'alarm', 'd1');
  await durable(s.outbox);
  s.outbox.commitProgress(); // counts written
  for (let i = 0; i < 7; i++) put(s.outbox, i % 5 ? 'telemetry' : 'alarm', 'd1');
  await durable(s.outbox); // committed after the counts: a kill -9 now
  assert.equal(s.outbox.stats().backlog, 17);
  const db = (s.outbox as unknown as { db: import('better-sqlite3').Database }).db;
  db.close();
  const db2 = openDatabase(s.dir, {});
  const again = new SqliteOutbox(db2, { synchronous: 'FULL', quotaBytes: 1e9, ttlMs: 1e9, keepEvery: 4, log: pino({ level: 'silent' }) });
  again.destination('mqtt', ['priority', 'telemetry']);
  const st = again.stats();
  assert.equal(st.backlog, 17);
  assert.deepEqual(st.lanes, { priority: 4, telemetry: 13 });
  assert.equal(again.next(), 18, 'seq continues');
  db2.close();
});

test('the priority lane overtakes a telemetry backlog; with order "seq" everything keeps strict seq order', async () => {
  for (const order of ['priority', 'seq'] as const) {
    const s = setup({ order, window: 4 });
    for (let i = 0; i < 20; i++) put(s.outbox, 'telemetry', `d${i % 3}`);
    await durable(s.outbox);
    s.broker.connect();
    await turns();
    const alarm = put(s.outbox, 'alarm', 'd0');
    const report = put(s.outbox, 'report', 'site');
    await durable(s.outbox);
    for (let i = 0; i < 10; i++) {
      s.broker.ack(1);
      await turns();
    }
    const sent = seqsOf(s.broker);
    if (order === 'priority') assert.deepEqual(sent.slice(4, 6), [alarm, report], `the alarm and the report go next: ${sent.join(',')}`);
    else assert.deepEqual(sent, [...sent].sort((x, y) => x - y));
    const telemetry = sent.filter((x) => x !== alarm && x !== report);
    assert.deepEqual(telemetry, [...telemetry].sort((x, y) => x - y), 'telemetry in seq order');
    s.close();
  }
});

test('a disconnect re-sends everything unacknowledged, in order, once per reconnect: nothing is lost', async () => {
  const s = setup({ window: 8 });
  const all: number[] = [];
  for (let i = 0; i < 40; i++) all.push(put(s.outbox, i % 10 === 9 ? 'alarm' : 'telemetry', `d${i % 4}`));
  await durable(s.outbox);
  s.broker.connect();
  await turns();
  s.broker.ack(5);
  await turns();
  const inFlight = s.broker.pending.map((p) => p.seq);
  s.broker.disconnect();
  await turns();
  assert.equal(s.broker.pending.length, 0, 'nothing is published while disconnected');
  const before = s.broker.log.length;
  s.broker.connect();
  await turns();
  assert.deepEqual(seqsOf(s.broker).slice(before, before + inFlight.length), inFlight, 'the unacknowledged ones go first again, in the same order');
  while (s.broker.pending.length) {
    s.broker.ack();
    await turns();
  }
  const delivered = new Set(seqsOf(s.broker));
  assert.deepEqual([...delivered].sort((a, b) => a - b), all);
  assert.equal(s.delivery.stats().inflight, 0);
  s.outbox.commitProgress();
  assert.equal(s.outbox.stats().backlog, 0);
  s.close();
});

test('a message the broker refuses stays in the outbox and is published again, with the ones after it, in order', async () => {
  const s = setup({ window: 4 });
  for (let i = 0; i < 3; i++) put(s.outbox, 'alarm', 'd1');
  await durable(s.outbox);
  s.broker.connect();
  await turns();
  s.broker.refuseNext();
  s.broker.ack(); // the later two are acknowledged, but the watermark stays before the refused one
  await turns();
  assert.ok(s.logs.some((l) => l.msg.includes('refused a message')), 'logged with what to check');
  const retry = await waitForLog(s.broker, 6, 5000);
  assert.deepEqual(retry, [1, 2, 3], 'retried from the refused one');
  assert.equal(s.delivery.stats().refused, 1);
  s.close();
});

async function waitForLog(b: ScriptedBroker, n: number, ms: number): Promise<number[]> {
  const end = Date.now() + ms;
  while (b.log.length < n) {
    if (Date.now() > end) throw new Error(`only ${b.log.length} publishes`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return seqsOf(b).slice(3, 6);
}

test('quota during an outage: telemetry is thinned (every Nth per device), then dropped oldest first; alarms and reports never', async () => {
  const s = setup({ quotaBytes: 1024 * 1024, keepEvery: 4 });
  const pad = 'x'.repeat(400);
  const priority = new Set<number>();
  const telemetry: number[] = [];
  const fill = async (n: number) => {
    for (let i = 0; i < n; i++) {
      telemetry.push(put(s.outbox, 'telemetry', `d${i % 3}`, { pad }));
      if (i % 100 === 0) priority.add(put(s.outbox, 'alarm', `d${i % 3}`, { pad }));
      if (i % 500 === 0) priority.add(put(s.outbox, 'report', 'site', { pad }));
      if (i % 200 === 199) {
        await durable(s.outbox);
        s.outbox.maintain();
      }
    }
    await durable(s.outbox);
    for (let i = 0; i < 50 && s.outbox.usedBytes() > 1024 * 1024; i++) s.outbox.maintain();
  };
  await fill(3000); // about 2 MB of telemetry into a 1 MB quota
  let st = s.outbox.stats();
  assert.ok(st.thinned > 0, 'thinned');
  assert.equal(st.dropped, 0, 'thinning alone made room');
  assert.ok(st.bytes <= 1024 * 1024, `${st.bytes} bytes within the quota`);
  const kept = () => s.outbox.readRows('telemetry', 0, 100_000).map((r) => r.seq);
  let rows = kept();
  // The oldest part keeps every 4th message of each device; the newest is untouched.
  const d0 = telemetry.filter((_, i) => i % 3 === 0);
  const d0kept = d0.filter((q) => rows.includes(q));
  assert.equal(d0kept[1]! - d0kept[0]!, (d0[4]! - d0[0]!), 'the oldest messages of d0: every 4th kept');
  assert.deepEqual(rows.slice(-300), telemetry.slice(-300), 'the newest 300 are all there (a quarter of the quota is never thinned)');
  assert.equal(rows.length + st.thinned, telemetry.length, 'every telemetry message is stored or counted as thinned');

  await fill(6000); // far past what thinning can absorb
  st = s.outbox.stats();
  assert.ok(st.dropped > 0, 'then oldest first');
  assert.ok(st.bytes <= 1024 * 1024, `${st.bytes} bytes within the quota`);
  rows = kept();
  assert.equal(rows.length + st.thinned + st.dropped, telemetry.length, 'every telemetry message is stored, thinned or dropped');
  const p = s.outbox.readRows('priority', 0, 100_000).map((r) => r.seq);
  assert.deepEqual(p, [...priority], 'every alarm and report is kept, in order');
  assert.equal(st.lanes.priority, priority.size);
  assert.equal(st.lanes.telemetry, rows.length, 'the backlog count matches what is stored');
  assert.ok(s.logs.some((l) => l.msg.includes('telemetry quota reached')));
  s.close();
});

test('telemetry past its time-to-live is dropped undelivered and counted; alarms are kept', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const s = setup({ ttlMs: 60_000, now: () => now });
  for (let i = 0; i < 10; i++) put(s.outbox, 'telemetry', 'd1');
  const alarm = put(s.outbox, 'alarm', 'd1');
  await durable(s.outbox);
  now += 61_000;
  put(s.outbox, 'telemetry', 'd1');
  await durable(s.outbox);
  s.outbox.maintain();
  const st = s.outbox.stats();
  assert.equal(st.expired, 10);
  assert.equal(st.lanes.telemetry, 1);
  assert.deepEqual(s.outbox.readRows('priority', 0, 10).map((r) => r.seq), [alarm]);
  s.close();
});

test('a file that is not a database is moved aside and a new one started, and the log says so', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gg-damaged-'));
  writeFileSync(join(dir, 'gridgate.db'), 'this is not a database, it is a power cut in the middle of something'.repeat(100));
  const logs: Array<{ msg: string; movedTo?: string }> = [];
  const db = openDatabase(dir, { log: pino({}, { write: (s: string) => void logs.push(JSON.parse(s) as (typeof logs)[number]) }) });
  db.prepare("INSERT INTO meta (key, value) VALUES ('x', 'y')").run();
  db.close();
  const moved = readdirSync(dir).find((f) => f.startsWith('gridgate.db.damaged-'));
  assert.ok(moved, 'kept aside');
  assert.match(logs[0]!.msg, /is damaged \(not an SQLite database.*moved aside.*\.recover/);
  assert.ok(readFileSync(join(dir, moved)).toString().startsWith('this is not a database'));
});

async function filledOutbox(n: number): Promise<{ dir: string; ids: string[] }> {
  const s = setup({ synchronous: 'FULL' });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const seq = s.outbox.next();
    const id = uuidv7();
    ids.push(id);
    s.outbox.put({ topic: 't', message: { id, seq, type: 'telemetry', deviceId: 'd1', pad: 'y'.repeat(300) } as never, qos: 1, retain: false, class: 'telemetry' });
  }
  await durable(s.outbox);
  s.close(); // checkpointed into the main file
  return { dir: s.dir, ids };
}

function reopen(dir: string) {
  const logs: Array<{ msg: string }> = [];
  const log = pino({}, { write: (x: string) => void logs.push(JSON.parse(x) as (typeof logs)[number]) });
  const db = openDatabase(dir, { log, onDamaged: (d, r) => salvageDatabase(r.movedTo, d, log) });
  const outbox = new SqliteOutbox(db, { synchronous: 'FULL', quotaBytes: 1e9, ttlMs: 1e9, keepEvery: 4, log });
  return { logs, outbox, close: () => (outbox.close(), db.close()) };
}

test('a truncated database is recognised from its header, moved aside, and a new one started', async () => {
  const { dir } = await filledOutbox(2000);
  const file = join(dir, 'gridgate.db');
  assert.ok(!existsSync(file + '-wal') || statSync(file + '-wal').size === 0);
  truncateSync(file, Math.floor(statSync(file).size / 2 / 4096) * 4096 + 1000); // half of it, ending mid-page
  assert.match(headerProblem(readFileSync(file).subarray(0, 100), statSync(file).size, false) ?? '', /truncated/);
  const r = reopen(dir);
  assert.ok(r.logs.some((l) => /is damaged \(truncated/.test(l.msg)), 'says so');
  assert.ok(readdirSync(dir).some((f) => f.startsWith('gridgate.db.damaged-')), 'kept aside');
  put(r.outbox, 'alarm', 'd1');
  await durable(r.outbox);
  assert.equal(r.outbox.readRows('priority', 0, 10).length, 1, 'and works');
  r.close();
});

test('a damaged page in the outbox: everything readable around it is salvaged, with its ids and seqs', async () => {
  const { dir, ids } = await filledOutbox(3000);
  const file = join(dir, 'gridgate.db');
  const buf = readFileSync(file);
  const page = Math.floor(buf.length / 4096 / 2);
  buf.fill(0xa5, page * 4096, page * 4096 + 4096); // one page in the middle overwritten
  writeFileSync(file, buf);
  const r = reopen(dir);
  assert.ok(r.logs.some((l) => /is damaged \(SQLite's quick check failed/.test(l.msg)), r.logs.map((l) => l.msg).join('\n'));
  const rows = r.outbox.readRows('telemetry', 0, 10_000);
  assert.ok(rows.length >= 2900 && rows.length < 3000, `all but about one page of rows salvaged: ${rows.length}`);
  const byId = new Map(ids.map((id, i) => [id, i + 1]));
  for (const row of rows) assert.equal(byId.get((JSON.parse(row.payload) as { id: string }).id), row.seq, 'same id, same seq');
  assert.ok(r.outbox.next() > 3000, 'the sequence continues above what was stored');
  assert.ok(r.logs.some((l) => /salvaged/.test(l.msg)));
  r.close();
});
