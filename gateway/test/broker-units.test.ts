import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import { PacketSizeGuard } from '../src/southbound/broker/packet-guard.js';

const publish = (payload: string) => mqttPacket.generate({ cmd: 'publish', topic: 'devices/cover-1/up', payload, qos: 1, messageId: 7, retain: false, dup: false });

test('PacketSizeGuard: follows packets across any split of the stream and passes those within the limit', () => {
  const stream = Buffer.concat([publish('{"tilt_deg":1}'), publish('x'.repeat(300)), mqttPacket.generate({ cmd: 'pingreq' }), publish('y'.repeat(1000))]);
  for (const cut of [1, 2, 3, 7, 64, stream.length]) {
    const g = new PacketSizeGuard(1100);
    for (let i = 0; i < stream.length; i += cut) assert.equal(g.scan(stream.subarray(i, i + cut)), 0, `chunks of ${cut}`);
  }
});

test('PacketSizeGuard: a packet declared over the limit is caught at its header, before its body arrives', () => {
  const big = publish('z'.repeat(5000));
  const g = new PacketSizeGuard(4096);
  assert.equal(g.scan(publish('ok')), 0);
  assert.equal(g.scan(big.subarray(0, 1)), 0, 'the type byte alone says nothing');
  assert.ok(g.scan(big.subarray(1, 3)) > 4096, 'the length bytes do');
  const malformed = new PacketSizeGuard(1 << 30);
  assert.ok(malformed.scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff])) > 0, 'a length of more than four bytes is refused');
});
