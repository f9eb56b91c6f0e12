import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mqttClientLog } from '../src/util/log.js';

test("mqtt.js's trace stays available with DEBUG=mqttjs*; otherwise its log calls cost nothing", () => {
  const quiet = mqttClientLog({});
  assert.equal(typeof quiet, 'function');
  assert.equal(quiet!('publish :: message `%s` to topic `%s`', 'x', 'y'), undefined);
  assert.equal(mqttClientLog({ DEBUG: 'other:*' }), quiet, 'another namespace does not turn it on');
  assert.equal(mqttClientLog({ DEBUG: 'mqttjs*' }), undefined, "undefined: mqtt.js falls back to the debug package's logger");
  assert.equal(mqttClientLog({ DEBUG: 'gridgate,mqttjs:client' }), undefined);
});
