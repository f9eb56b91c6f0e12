import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { MqttDelivery } from '../src/northbound/mqtt-delivery.js';
import { SqliteOutbox } from '../src/northbound/outbox/outbox.js';
import { openDatabase } from '../src/store/db.js';
import { UplinkConfig } from '../src/config/schema.js';
import { MqttUplink } from '../src/northbound/mqtt-uplink.js';
import { uuidv7 } from '@gridgate/contract';
import { Consumer } from './helpers/consumer.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { waitFor } from './helpers/net.js';

// The outbox, its MQTT delivery and the real uplink (mqtt.js) against a real mosquitto that goes away
// with publishes in flight and comes back: mqtt.js must neither re-send its own copies behind the
// outbox's back nor lose the callbacks of the ones it had; the outbox re-publishes from its watermark.

let central: Mosquitto | undefined;
after(async () => central?.stop());

const log = pino({ level: 'silent' });

/** The gateway's path to a central broker: a fresh outbox, the real uplink (mqtt.js) and the delivery between them. */
function uplinkPath(url: string, name: string, status: { topic: string; birth: string; will: string }, window: number, reconnect?: { minMs: number; maxMs: number }) {
  const db = openDatabase(mkdtempSync(join(tmpdir(), `gg-${name}-`)), { log });
  const outbox = new SqliteOutbox(db, { synchronous: 'FULL', quotaBytes: 1e9, ttlMs: 1e9, keepEvery: 4, log });
  const uplink = new MqttUplink(UplinkConfig.parse({ url, ...(reconnect && { reconnect }) }), name, {
    birth: () => status.birth,
    will: () => status.will,
    statusTopic: status.topic,
    cmdTopic: `${status.topic}/cmd`,
    onCommand: () => {},
  }, log);
  const delivery = new MqttDelivery(outbox.destination('mqtt', ['priority', 'telemetry']), uplink, { window, order: 'priority', log });
  outbox.start();
  delivery.start();
  return { db, outbox, uplink, delivery };
}

test('broker restarted with publishes in flight: every message arrives, in order per topic, duplicates at most one window per disconnect', async () => {
  const persist = mkdtempSync(join(tmpdir(), 'gg-central-'));
  central = await startMosquitto({ extra: `persistence true\npersistence_location ${persist}/\nautosave_interval 1` });
  const consumer = await Consumer.connect(central.url, { clientId: 'outbox-consumer', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 600 } }, 'gw/#');
  const window = 64;
  const { db, outbox, uplink, delivery } = uplinkPath(central.url, 'outbox-mq-test', { topic: 'gw/status', birth: '{}', will: '{}' }, window, { minMs: 100, maxMs: 1000 });
  // The guarantee is per reconnect: each one re-publishes what was in flight, at most a window.
  let connects = 0;
  uplink.on('connect', () => connects++);
  const put = (n: number) => {
    for (let i = 0; i < n; i++) {
      const device = `d${i % 4}`;
      const alarm = i % 50 === 0;
      outbox.put({ topic: `gw/${alarm ? 'alarm' : 'telemetry'}/${device}`, message: { id: uuidv7(), seq: outbox.next(), type: alarm ? 'alarm' : 'telemetry', deviceId: device } as never, qos: 1, retain: false, class: alarm ? 'alarm' : 'telemetry' });
    }
  };
  try {
    put(3000);
    uplink.start();
    await waitFor('some delivered', () => delivery.stats().acked > 300);
    assert.ok(delivery.stats().inflight > 0, 'publishes in flight when the broker goes');
    await central.stop();
    put(1000);
    await waitFor('disconnected', () => !uplink.connected);
    assert.equal(delivery.stats().inflight, 0, 'mqtt.js gave every callback back');
    await central.start();
    const total = outbox.currentSeq;
    await waitFor('every message at the consumer', () => new Set(consumer.received.map((r) => r.msg.id)).size >= total, 30_000);
    const seen = new Set<string>();
    const unique = consumer.received.filter((r) => (r.topic === 'gw/status' || seen.has(r.msg.id) ? false : (seen.add(r.msg.id), true)));
    assert.deepEqual(unique.map((r) => r.msg.seq).sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i + 1), 'nothing lost');
    const byTopic = new Map<string, number[]>();
    for (const r of unique) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r.msg.seq]);
    for (const [topic, seqs] of byTopic) assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${topic} in order`);
    // Counted at the gateway: the consumer's own repeats also hold what mosquitto re-delivers from its persisted
    // session after the restart, which is the broker's QoS 1 and not the outbox's doing.
    const reconnects = connects - 1;
    const repeats = delivery.stats().sent - total;
    const consumerRepeats = consumer.received.filter((r) => r.topic !== 'gw/status').length - unique.length;
    assert.ok(reconnects >= 1, 'the uplink reconnected');
    assert.ok(repeats <= window * reconnects, `at most one window re-published per reconnect: ${repeats} repeats, ${reconnects} reconnect(s), window ${window} (the consumer saw ${consumerRepeats} repeats)`);
    await waitFor('backlog 0', () => (outbox.commitProgress(), outbox.stats().backlog === 0));
  } finally {
    delivery.stop();
    await uplink.stop();
    outbox.close();
    db.close();
    await consumer.close();
  }
});

test('a central broker that stops answering does not hold the stop: the link is cut after the grace, what was in flight stays in the outbox, the Last Will says offline', { timeout: 60_000 }, async () => {
  const frozen = await startMosquitto({});
  const consumer = await Consumer.connect(frozen.url, { clientId: 'frozen-consumer' }, 'gw2/status');
  const { db, outbox, uplink, delivery } = uplinkPath(frozen.url, 'outbox-frozen-test', {
    topic: 'gw2/status',
    birth: JSON.stringify({ type: 'status', state: 'online' }),
    will: JSON.stringify({ type: 'status', state: 'offline', reason: 'last-will' }),
  }, 64);
  const put = (n: number) => {
    for (let i = 0; i < n; i++) outbox.put({ topic: 'gw2/telemetry/d1', message: { id: uuidv7(), seq: outbox.next(), type: 'telemetry', deviceId: 'd1' } as never, qos: 1, retain: false, class: 'telemetry' });
  };
  try {
    uplink.start();
    await waitFor('online', () => consumer.received.some((r) => (r.msg as { state?: string }).state === 'online'));
    put(100);
    await waitFor('the first messages acknowledged', () => delivery.stats().acked >= 100);
    frozen.process.kill('SIGSTOP'); // alive, connected, and silent: no PUBACK, no reset
    put(100);
    await waitFor('publishes in flight to the frozen broker', () => delivery.stats().inflight > 0);
    delivery.stop();
    await uplink.stop(JSON.stringify({ type: 'status', state: 'offline', reason: 'shutdown' }), 1_000);
    assert.equal(delivery.stats().inflight, 0, 'every publish got its callback back');
    outbox.commitProgress();
    assert.ok(outbox.stats().backlog > 0, 'what the broker never acknowledged is still in the outbox');
    frozen.process.kill('SIGCONT');
    await waitFor('the Last Will on the status topic', () => consumer.received.some((r) => r.topic === 'gw2/status' && (r.msg as { reason?: string }).reason === 'last-will'));
  } finally {
    frozen.process.kill('SIGCONT');
    outbox.close();
    db.close();
    await consumer.close();
    await frozen.stop();
  }
});
