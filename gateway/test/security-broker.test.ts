import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import v8 from 'node:v8';
import vm from 'node:vm';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { BrokerConfig } from '../src/config/schema.js';
import type { RawUplink } from '../src/model/readings.js';
import { RejectCounter, UNKNOWN_SOURCE } from '../src/southbound/rejects.js';
import { hashPassword, generatePassword } from '../src/southbound/broker/credentials.js';
import { EmbeddedBroker } from '../src/southbound/broker/embedded-broker.js';
import { LoginGuard } from '../src/southbound/broker/login-guard.js';
import { capText } from '../src/util/cap.js';
import { sleep, waitFor } from './helpers/net.js';

// A hostile device on the cabinet LAN against the real embedded broker (aedes on loopback, real mqtt.js clients,
// the gateway's own reject record and a pino logger whose output is measured): floods before login, rate limit
// across reconnects, client-id takeover, password guessing, forged publishes, MQTT 5.

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

// Every scrypt the process runs, whoever calls it: a password check is one.
let scryptRuns = 0;
const realScrypt = crypto.scrypt;
const countScrypt = () => {
  (crypto as unknown as { scrypt: (...a: unknown[]) => void }).scrypt = (...a: unknown[]) => {
    scryptRuns++;
    (realScrypt as unknown as (...a: unknown[]) => void)(...a);
  };
  syncBuiltinESMExports();
};

interface Harness {
  broker: EmbeddedBroker;
  url: string;
  rejects: RejectCounter;
  accepted: RawUplink[];
  log: { bytes: number; lines: Array<Record<string, unknown>> };
}

const pw = { a: generatePassword(), b: generatePassword(), r: generatePassword(), q: generatePassword() };

async function startBroker(config: Record<string, unknown>): Promise<Harness> {
  const hashes = new Map([
    ['dev-a', await hashPassword(pw.a)],
    ['dev-b', await hashPassword(pw.b)],
    ['dev-r', await hashPassword(pw.r)],
    ['dev-q', await hashPassword(pw.q)],
  ]);
  const log = { bytes: 0, lines: [] as Array<Record<string, unknown>> };
  const logger = pino({ level: 'info' }, {
    write(s: string) {
      log.bytes += s.length;
      log.lines.push(s.length < 4000 ? (JSON.parse(s) as Record<string, unknown>) : { msg: '(a line of more than 4000 characters)' });
    },
  });
  const rejects = new RejectCounter(logger);
  const accepted: RawUplink[] = [];
  const cfg = { ...BrokerConfig.parse({ ...config }), port: 0 };
  const broker = new EmbeddedBroker(cfg, {
    credentialsOf: (id) => (hashes.has(id) ? { passwordHash: hashes.get(id)! } : undefined),
    accept: (raw, done) => {
      accepted.push(raw);
      done();
    },
    reject: (id, reason, detail) => rejects.reject(id, reason, detail),
    log: logger,
  });
  await broker.start();
  const { port } = broker.ports;
  return { broker, url: `mqtt://127.0.0.1:${port}`, rejects, accepted, log };
}

/** Connects, or resolves with the refusal's message. */
async function tryConnect(url: string, o: mqtt.IClientOptions): Promise<MqttClient | string> {
  try {
    return await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...o });
  } catch (e) {
    return (e as Error).message;
  }
}

async function connect(url: string, id: string, password: string, o: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await tryConnect(url, { clientId: id, username: id, password, ...o });
  if (typeof c === 'string') throw new Error(`${id} could not connect: ${c}`);
  return c;
}

/** Runs `n` tries `parallel` at a time (bounded in count; each try bounded by its connect timeout). */
async function inBatches<T>(n: number, parallel: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += parallel) out.push(...(await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, (_, k) => one(i + k)))));
  return out;
}

const end = (c: MqttClient | string) => (typeof c === 'string' ? Promise.resolve() : c.endAsync(true).then(() => undefined));

describe('embedded broker against a hostile device on the sensor LAN', () => {
  let h: Harness;
  const clients: MqttClient[] = [];

  before(async () => {
    h = await startBroker({ rateLimit: { perSecond: 2, burst: 5 } });
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await h?.broker.stop();
    (crypto as unknown as { scrypt: typeof realScrypt }).scrypt = realScrypt;
    syncBuiltinESMExports();
  });

  test('an MQTT 5 client is refused with a named reason: devices speak MQTT 3.1.1', async () => {
    const v5 = await tryConnect(h.url, { clientId: 'dev-b', username: 'dev-b', password: pw.b, protocolVersion: 5 });
    await end(v5);
    assert.equal(typeof v5, 'string');
    const line = await waitFor('the refusal logged', () => h.log.lines.find((l) => l.reason === 'connect-refused' && /MQTT 5/.test(String(l.detail))));
    assert.match(String(line.detail), /speaks MQTT 3\.1\.1 only; set the device to MQTT 3\.1\.1/);
  });

  test('400 CONNECTs with 60 KB user names or client ids: the reject record, the log and the heap stay small', async (t) => {
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const logBefore = h.log.bytes;
    const totalBefore = h.rejects.total;
    const long = (i: number) => `${i}-${'x'.repeat(60_000)}`;
    const results = await inBatches(400, 20, (i) =>
      tryConnect(h.url, i % 2 ? { clientId: `c${i}`, username: long(i), password: 'x' } : { clientId: long(i) }).then(async (c) => {
        await end(c);
        return typeof c === 'string';
      }),
    );
    assert.equal(results.filter(Boolean).length, 400, 'every one refused');
    await waitFor('all refusals counted', () => h.rejects.total - totalBefore >= 400);
    const keys = [...h.rejects.all().keys()];
    const recordChars = keys.reduce((n, k) => n + k.length + (h.rejects.lastFor(k)?.detail.length ?? 0), 0);
    const logGrowth = h.log.bytes - logBefore;
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    t.diagnostic(`400 refusals: ${keys.length} row(s), ${recordChars} characters in the record, ${logGrowth} bytes of log, heap ${(heapGrowth / 1048576).toFixed(1)} MB`);
    assert.ok(keys.length <= 2, `unknown senders share one row: ${keys.length} rows (${keys.slice(0, 3).map((k) => capText(k, 20)).join(', ')}, …)`);
    assert.ok(recordChars < 2000, `the record holds ${recordChars} characters`);
    assert.ok(logGrowth < 32_000, `400 refusals wrote ${logGrowth} bytes of log`);
    const detail = h.rejects.lastFor(UNKNOWN_SOURCE)?.detail ?? '';
    assert.match(detail, /\(60002 chars\)|of 6000\d characters/, `the detail says how long, not what: ${detail}`);
    assert.ok(h.log.lines.some((l) => /user name of 6000\d characters .*a device id has at most 64/.test(String(l.detail))), 'the user name limit is named');
    assert.ok(heapGrowth < 20 * 1024 * 1024, `heap grew by ${(heapGrowth / 1048576).toFixed(1)} MB`);
  });

  test('rate limit per device: reconnects get no fresh burst, a parallel connection is refused, a QoS 1 flood is cut off unacknowledged', async (t) => {
    const from = (id: string) => h.accepted.filter((r) => r.deviceId === id).length;
    const t0 = Date.now();
    for (let round = 0; round < 6; round++) {
      const c = await connect(h.url, 'dev-r', pw.r);
      for (let i = 0; i < 10; i++) c.publish('devices/dev-r/up', JSON.stringify({ round, i }), { qos: 0 });
      await c.endAsync(); // flushes the publishes before the DISCONNECT
    }
    await sleep(300);
    const elapsedS = (Date.now() - t0) / 1000;
    t.diagnostic(`60 QoS 0 messages over 6 connections in ${elapsedS.toFixed(2)} s: ${from('dev-r')} taken in`);
    assert.ok(from('dev-r') <= 5 + 2 * elapsedS + 1, `60 sent over 6 connections in ${elapsedS.toFixed(1)} s: ${from('dev-r')} taken in, at most burst 5 + 2/s`);
    assert.ok(from('dev-r') >= 5, 'the burst itself is taken in');

    const first = await connect(h.url, 'dev-r', pw.r);
    clients.push(first);
    const second = await tryConnect(h.url, { clientId: 'dev-r:2', username: 'dev-r', password: pw.r });
    await end(second);
    assert.equal(typeof second, 'string', 'a second concurrent connection of the same device is refused');
    assert.match(second as string, /Not authorized/);
    assert.match(h.rejects.lastFor('dev-r')?.detail ?? '', /already has 1 connection\(s\) \(broker\.maxConnectionsPerDevice: 1\)/);
    const firstClosed = new Promise<void>((r) => first.once('close', () => r()));
    const again = await connect(h.url, 'dev-r', pw.r); // same client id: replaces the old connection
    clients.push(again);
    await firstClosed;
    assert.equal(again.connected, true);

    // QoS 1 beyond the limit: no PUBACK (it would say "delivered"), the connection is closed instead.
    const q = await connect(h.url, 'dev-q', pw.q);
    clients.push(q);
    let acked = 0;
    const closed = new Promise<void>((r) => q.once('close', () => r()));
    for (let i = 0; i < 20; i++) q.publish('devices/dev-q/up', JSON.stringify({ i }), { qos: 1 }, (err) => void (err || acked++));
    await closed;
    await sleep(100);
    assert.ok(acked <= 6, `at most the burst (5) acknowledged, got ${acked}`);
    assert.equal(from('dev-q'), acked, 'what was acknowledged is what was taken in');
    const said = h.log.lines.find((l) => l.device === 'dev-q' && l.reason === 'rate-limited');
    assert.match(String(said?.detail), /QoS 1 message not acknowledged, connection closed \(the device sends it again after reconnecting\)/);
  });

  test('client ids belong to devices: a device cannot take over another\'s session, and forged publishes reach nobody', async () => {
    const b = await connect(h.url, 'dev-b', pw.b);
    clients.push(b);
    const forged: string[] = [];
    b.on('message', (topic) => forged.push(topic));
    await b.subscribeAsync('devices/dev-b/cmd', { qos: 1 });
    let bClosed = false;
    b.once('close', () => (bClosed = true));
    const thief = await tryConnect(h.url, { clientId: 'dev-b', username: 'dev-a', password: pw.a });
    await end(thief);
    assert.equal(typeof thief, 'string', 'dev-a with dev-b\'s client id is refused');
    assert.match(thief as string, /Identifier rejected/);
    assert.match(h.rejects.lastFor('dev-a')?.detail ?? '', /client id "dev-b" does not belong to device dev-a/);
    const lookalike = await tryConnect(h.url, { clientId: 'dev-b-2', username: 'dev-b', password: pw.b });
    await end(lookalike);
    assert.equal(typeof lookalike, 'string', '"<id>-…" is refused too: it could name another device');
    await sleep(200);
    assert.equal(bClosed, false, 'dev-b stays connected');
    await b.publishAsync('devices/dev-b/up', JSON.stringify({ ok: 1 }), { qos: 1 });

    const a = await connect(h.url, 'dev-a', pw.a);
    clients.push(a);
    const before = h.accepted.length;
    const aclBefore = h.rejects.forDevice('dev-a')['acl-denied'] ?? 0;
    await a.publishAsync('devices/dev-b/up', JSON.stringify({ forged: 1 }), { qos: 1 });
    await a.publishAsync('devices/dev-b/cmd', JSON.stringify({ command: 'open' }), { qos: 1 });
    a.publish('devices/dev-b/cmd', JSON.stringify({ command: 'open' }), { qos: 0 });
    await a.publishAsync('devices/dev-a/up', JSON.stringify({ own: 1 }), { qos: 1 }); // after the forgeries, in order
    await sleep(300);
    assert.deepEqual(forged, [], 'no forged command reaches dev-b');
    assert.deepEqual(h.accepted.slice(before).map((r) => r.deviceId), ['dev-a'], 'only dev-a\'s own uplink reaches the pipeline');
    assert.equal((h.rejects.forDevice('dev-a')['acl-denied'] ?? 0) - aclBefore, 3);
  });

  test('password guessing: scrypt runs a bounded number of times, then logins wait; other devices still log in', async (t) => {
    countScrypt();
    const runsBefore = scryptRuns;
    const results = await inBatches(240, 20, (i) => tryConnect(h.url, { clientId: 'dev-a', username: 'dev-a', password: `guess-${i}` }).then(async (c) => (await end(c), c)));
    assert.ok(results.every((r) => typeof r === 'string'), 'no guess gets in');
    const checks = scryptRuns - runsBefore;
    t.diagnostic(`240 wrong passwords: ${checks} scrypt runs`);
    assert.ok(checks <= 8, `240 guesses ran ${checks} password checks (3 free failures, then a doubling wait)`);
    assert.ok(results.filter((r) => /Server unavailable/.test(r as string)).length >= 200, 'most are refused unchecked ("server unavailable": retry later)');
    const counted = h.rejects.forDevice('dev-a');
    assert.ok((counted['connect-refused'] ?? 0) >= 200 && (counted['auth-failed'] ?? 0) === checks, `counted per device: ${JSON.stringify(counted)}`);
    const other = await connect(h.url, 'dev-b', pw.b, { clientId: 'dev-b' }); // another device from the same address
    clients.push(other);
    h.broker.logLoginSummary();
    const summary = h.log.lines.find((l) => /wrong device password\(s\)/.test(String(l.msg)));
    assert.ok(summary, 'a summary line for the minute');
    assert.ok((summary.wrongPasswords as number) >= 3 && (summary.refusedUnchecked as number) >= 200, JSON.stringify(summary));
    assert.deepEqual(summary.devices, ['dev-a']);
  });

});

describe('the pieces, with a fake clock', () => {
  test('capText keeps the start, says how long, never splits a surrogate pair', () => {
    assert.equal(capText('short'), 'short');
    assert.equal(capText('x'.repeat(100), 10), `${'x'.repeat(10)}…(100 chars)`);
    assert.equal(capText(`${'x'.repeat(9)}😀tail`, 10), `${'x'.repeat(9)}…(15 chars)`);
  });

  test('reject log: at most 20 lines per reason a minute over all devices, then one line with how many were left out', () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    let t = 1_000_000;
    const r = new RejectCounter(log, () => t);
    for (let i = 0; i < 100; i++) r.reject(`device-${i}`, 'malformed-json', 'not JSON');
    assert.equal(lines.filter((l) => l.msg === 'input rejected').length, 20);
    t += 60_000;
    r.flush();
    const summary = lines.find((l) => l.suppressed !== undefined);
    assert.equal(summary?.suppressed, 80);
    assert.match(String(summary?.msg), /80 more "malformed-json" not logged in the last minute/);
    assert.equal(r.total, 100, 'every one counted');
  });

  test('login guard: free failures, then a doubling wait; one check per pair at a time; a bounded queue of checks', async () => {
    let t = 0;
    const g = new LoginGuard({ freeFailures: 3, maxBackoffMs: 8000, concurrentChecks: 1, maxWaiting: 1 }, () => t);
    for (let i = 0; i < 3; i++) {
      assert.equal(g.begin('10.0.0.9', 'd').ok, true);
      g.finish('10.0.0.9', 'd', false);
    }
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = g.begin('10.0.0.9', 'd');
      assert.equal(r.ok, false);
      const s = Number(/no check for (\d+) s/.exec((r as { why: string }).why)?.[1]);
      waits.push(s);
      t += s * 1000;
      assert.equal(g.begin('10.0.0.9', 'd').ok, true);
      g.finish('10.0.0.9', 'd', false);
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 8, 8]);
    assert.equal(g.begin('10.0.0.7', 'd').ok, true, 'another address is not held up');
    assert.equal(g.begin('10.0.0.7', 'd').ok, false, 'one check per pair at a time');
    g.finish('10.0.0.7', 'd', true);
    const first = await g.turn()!;
    const waiting = g.turn();
    assert.ok(waiting, 'one may wait');
    assert.equal(g.turn(), undefined, 'beyond the queue: refused at once');
    first();
    (await waiting!)();
    assert.deepEqual(g.takeSummary(), { wrongPasswords: 9, refusedUnchecked: 7, addresses: ['10.0.0.9', '10.0.0.7'], devices: ['d'] });
    assert.equal(g.takeSummary(), undefined);
  });
});
