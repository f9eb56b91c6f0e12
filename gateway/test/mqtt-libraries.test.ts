import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { mqttClientLog } from '../src/util/log.js';
import { dropMqttPacketNumberCache } from '../src/util/mqtt-packet.js';

test("mqtt.js's trace stays available with DEBUG=mqttjs*; otherwise its log calls cost nothing", () => {
  const quiet = mqttClientLog({});
  assert.equal(typeof quiet, 'function');
  assert.equal(quiet!('publish :: message `%s` to topic `%s`', 'x', 'y'), undefined);
  assert.equal(mqttClientLog({ DEBUG: 'other:*' }), quiet, 'another namespace does not turn it on');
  assert.equal(mqttClientLog({ DEBUG: 'mqttjs*' }), undefined, "undefined: mqtt.js falls back to the debug package's logger");
  assert.equal(mqttClientLog({ DEBUG: 'gridgate,mqttjs:client' }), undefined);
});

test("without mqtt-packet's number cache no 65,536 buffers are built, and packet ids still encode", async () => {
  dropMqttPacketNumberCache();
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  for (const messageId of [1, 300, 65535]) mqttPacket.writeToStream({ cmd: 'puback', messageId }, sink);
  await new Promise((r) => setImmediate(r)); // writeToStream corks until the next tick
  assert.deepEqual([...Buffer.concat(chunks)], [0x40, 2, 0, 1, 0x40, 2, 1, 44, 0x40, 2, 255, 255]);
  // The same module instance aedes and mqtt.js use (one deduplicated copy in the lockfile).
  const numbers = createRequire(createRequire(import.meta.url).resolve('aedes'))('mqtt-packet/numbers.js') as { cache: Record<number, Buffer> };
  assert.equal(Object.keys(numbers.cache).length, 0);
});
