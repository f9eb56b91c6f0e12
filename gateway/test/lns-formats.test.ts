import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { builtinCodecs } from '../src/profiles/codecs/index.js';
import { decodeUplink } from '../src/pipeline/decode/decode.js';
import { Rejection } from '../src/model/readings.js';
import { loadProfiles } from '../src/profiles/load.js';
import { EmptyUplink, LNS_UPLINK_TOPICS, parseChirpStackUp, parseLnsUplink, parseTtnV3Uplink } from '../src/southbound/lns/formats.js';
import { repoRoot } from './helpers/shared.js';

/** The uplink example of The Things Stack's "Data Formats" documentation, with the f_port the format describes. */
function ttnUplink(): Record<string, any> {
  return {
    end_device_ids: {
      device_id: 'dev1',
      application_ids: { application_id: 'app1' },
      dev_eui: '0004A30B001C0530',
      join_eui: '800000000000000C',
      dev_addr: '00BCB929',
    },
    correlation_ids: ['as:up:01E0WZGT6Y7657CPFPE5WEYDSQ', 'gs:conn:01E0WDEC6T5T4XXBAX7S1VMFKE', 'ns:uplink:01E0WZGSZXZXZS8RFAWZX0F2FY'],
    received_at: '2020-02-12T15:15:46.014773143Z',
    uplink_message: {
      session_key_id: 'AXA50tHUGUucuzS/bCGMNw==',
      f_port: 1,
      f_cnt: 1,
      frm_payload: 'gkHe',
      decoded_payload: { temperature: 1.0, luminosity: 0.64 },
      rx_metadata: [
        {
          gateway_ids: { gateway_id: 'gtw1', eui: '9C5C8E00001A05C4' },
          time: '2020-02-12T15:15:45.787Z',
          timestamp: 2463457000,
          rssi: -35,
          channel_rssi: -35,
          snr: 5,
          uplink_token: 'ChIKEAoEZ3R3MRIInFyOAAAaBcQQ6L3Vlgk=',
          channel_index: 2,
        },
      ],
      settings: { data_rate: { lora: { bandwidth: 125000, spreading_factor: 7 } }, data_rate_index: 5, coding_rate: '4/6', frequency: '868300000', timestamp: 2463457000, time: '2020-02-12T15:15:45.787Z' },
      received_at: '2020-02-12T15:15:45.789585559Z',
    },
  };
}

/** The `up` event example of ChirpStack v4's "Event types" documentation. */
function chirpUp(): Record<string, any> {
  return {
    deduplicationId: '3ac7e3c4-4401-4b8d-9386-a5c902f9202d',
    time: '2022-07-18T09:34:15.775023242+00:00',
    deviceInfo: {
      tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242',
      tenantName: 'ChirpStack',
      applicationId: '17c82e96-be03-4f38-aef3-f83d48582d97',
      applicationName: 'Test application',
      deviceProfileId: '14855bf7-d10d-4aee-b618-ebfcb64dc7ad',
      deviceProfileName: 'Test device-profile',
      deviceName: 'Test device',
      devEui: '0101010101010101',
      tags: { key: 'value' },
    },
    devAddr: '00189440',
    dr: 1,
    fPort: 1,
    data: 'qg==',
    rxInfo: [{ gatewayId: '0016c001f153a14c', uplinkId: 4217106255, rssi: -36, snr: 10.5, context: 'E3OWOQ==', metadata: { region_name: 'eu868', region_common_name: 'EU868' } }],
    txInfo: { frequency: 867100000, modulation: { lora: { bandwidth: 125000, spreadingFactor: 11, codeRate: 'CR_4_5' } } },
  };
}

const TTN_TOPIC = 'v3/app1@ttn/devices/dev1/up';
const CS_TOPIC = 'application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up';
const text = (o: unknown): string => JSON.stringify(o);

function rejects(fn: () => unknown, message: RegExp, empty = false): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Rejection, `expected a Rejection, got ${String(e)}`);
    assert.equal(e.reason, 'bad-envelope');
    assert.equal(e instanceof EmptyUplink, empty, `EmptyUplink: ${e.message}`);
    assert.match(e.message, message);
    return true;
  });
}

test('default uplink subscriptions', () => {
  assert.deepEqual(LNS_UPLINK_TOPICS, { 'ttn-v3': 'v3/+/devices/+/up', 'chirpstack-v4': 'application/+/device/+/event/up' });
});

describe('The Things Stack v3', () => {
  test('documented uplink', () => {
    assert.deepEqual(parseTtnV3Uplink(TTN_TOPIC, text(ttnUplink())), {
      format: 'ttn-v3',
      devEui: '0004a30b001c0530',
      deviceName: 'dev1',
      applicationId: 'app1',
      fPort: 1,
      bytes: Uint8Array.from([0x82, 0x41, 0xde]),
      observedAt: Date.parse('2020-02-12T15:15:45.789Z'),
      rssi: -35,
      snr: 5,
    });
  });

  test('topic without tenant; an empty topic (gridgate decode) skips the topic checks', () => {
    assert.equal(parseTtnV3Uplink('v3/app1/devices/dev1/up', text(ttnUplink())).applicationId, 'app1');
    assert.equal(parseTtnV3Uplink('', text(ttnUplink())).devEui, '0004a30b001c0530');
  });

  test('the strongest gateway gives rssi and snr; channel_rssi stands in for rssi', () => {
    const m = ttnUplink();
    m.uplink_message.rx_metadata = [
      { gateway_ids: { gateway_id: 'far' }, rssi: -118, snr: -7.5 },
      { gateway_ids: { gateway_id: 'near' }, channel_rssi: -61, snr: 9.25 },
      { gateway_ids: { gateway_id: 'odd' }, rssi: 'strong' },
    ];
    const up = parseTtnV3Uplink(TTN_TOPIC, text(m));
    assert.equal(up.rssi, -61);
    assert.equal(up.snr, 9.25);
  });

  test('optional fields absent: no keys for them', () => {
    const m = ttnUplink();
    delete m.received_at;
    delete m.uplink_message.received_at;
    delete m.uplink_message.rx_metadata;
    delete m.end_device_ids.application_ids;
    assert.deepEqual(Object.keys(parseTtnV3Uplink('', text(m))).sort(), ['bytes', 'devEui', 'deviceName', 'fPort', 'format']);
  });

  test('MAC-only and empty uplinks are EmptyUplink, not a crash', () => {
    // As published, the documentation's example has no f_port: zero values are omitted, so that is port 0.
    const asPublished = ttnUplink();
    delete asPublished.uplink_message.f_port;
    rejects(() => parseTtnV3Uplink(TTN_TOPIC, text(asPublished)), /uplink_message\.f_port is 0 \(or absent\): a MAC-only uplink/, true);
    const noPayload = ttnUplink();
    delete noPayload.uplink_message.frm_payload;
    rejects(() => parseTtnV3Uplink(TTN_TOPIC, text(noPayload)), /uplink_message\.frm_payload is absent: the uplink on fPort 1 carries no application payload/, true);
  });

  test('bad envelopes name the field', () => {
    const without = (edit: (m: Record<string, any>) => void): string => {
      const m = ttnUplink();
      edit(m);
      return text(m);
    };
    rejects(() => parseTtnV3Uplink(TTN_TOPIC, '{"end_device_ids":'), /The Things Stack message is not JSON/);
    rejects(() => parseTtnV3Uplink(TTN_TOPIC, '[]'), /must be a JSON object/);
    rejects(() => parseTtnV3Uplink(TTN_TOPIC, without((m) => delete m.end_device_ids.dev_eui)), /end_device_ids\.dev_eui is missing/);
    rejects(() => parseTtnV3Uplink(TTN_TOPIC, without((m) => (m.end_device_ids.dev_eui = '0004A30B001C05'))), /end_device_ids\.dev_eui must be 16 hex digits/);
    rejects(() => parseTtnV3Uplink(TTN_TOPIC, without((m) => delete m.uplink_message)), /uplink_message is missing: not an uplink/);
    rejects(() => parseTtnV3Uplink(TTN_TOPIC, without((m) => (m.uplink_message.f_port = 'one'))), /uplink_message\.f_port must be an integer 0…255/);
    rejects(() => parseTtnV3Uplink(TTN_TOPIC, without((m) => (m.uplink_message.frm_payload = 'not base64!'))), /uplink_message\.frm_payload must be base64/);
    rejects(() => parseTtnV3Uplink(TTN_TOPIC, without((m) => (m.uplink_message.received_at = 'yesterday'))), /uplink_message\.received_at must be an RFC 3339 UTC timestamp/);
    rejects(() => parseTtnV3Uplink('v3/app1@ttn/devices/dev2/up', text(ttnUplink())), /end_device_ids\.device_id "dev1" does not match the topic's device "dev2"/);
    rejects(() => parseTtnV3Uplink('v3/app1@ttn/devices/dev1/join', text(ttnUplink())), /is not a The Things Stack uplink topic/);
  });
});

describe('ChirpStack v4', () => {
  test('documented up event', () => {
    assert.deepEqual(parseChirpStackUp(CS_TOPIC, text(chirpUp())), {
      format: 'chirpstack-v4',
      devEui: '0101010101010101',
      deviceName: 'Test device',
      applicationId: '17c82e96-be03-4f38-aef3-f83d48582d97',
      fPort: 1,
      bytes: Uint8Array.from([0xaa]),
      observedAt: Date.parse('2022-07-18T09:34:15.775Z'),
      rssi: -36,
      snr: 10.5,
    });
  });

  test('DevEUI in the topic may be upper case; parseLnsUplink picks the parser', () => {
    const m = chirpUp();
    m.deviceInfo.devEui = 'A84041000181C51B';
    const topic = 'application/x/device/A84041000181C51B/event/up';
    assert.equal(parseLnsUplink('chirpstack-v4', topic, text(m)).devEui, 'a84041000181c51b');
  });

  test('no fPort (MAC-only) or no data: EmptyUplink', () => {
    const mac = chirpUp();
    delete mac.fPort;
    delete mac.data;
    rejects(() => parseChirpStackUp(CS_TOPIC, text(mac)), /fPort is 0 \(or absent\)/, true);
    const empty = chirpUp();
    delete empty.data;
    rejects(() => parseChirpStackUp(CS_TOPIC, text(empty)), /data is absent: the uplink on fPort 1 carries no application payload/, true);
  });

  test('bad envelopes name the field', () => {
    rejects(() => parseChirpStackUp('', text({ applicationID: '123', fPort: 5, data: 'qg==' })), /neither a ChirpStack v4 event \(deviceInfo\) nor a v3 uplink \(devEUI\)/);
    const m = chirpUp();
    delete m.deviceInfo.devEui;
    rejects(() => parseChirpStackUp(CS_TOPIC, text(m)), /deviceInfo\.devEui is missing/);
    rejects(() => parseChirpStackUp('application/x/device/0202020202020202/event/up', text(chirpUp())), /deviceInfo\.devEui 0101010101010101 does not match the topic's DevEUI 0202020202020202/);
    rejects(() => parseChirpStackUp('application/x/device/0101010101010101/event/join', text(chirpUp())), /is not a ChirpStack uplink topic/);
    const t = chirpUp();
    t.time = '2022-07-18 09:34:15';
    rejects(() => parseChirpStackUp(CS_TOPIC, text(t)), /time must be an RFC 3339 UTC timestamp/);
    rejects(() => parseChirpStackUp(CS_TOPIC, 'protobuf\u0000bytes'), /ChirpStack message is not JSON/);
  });
});

describe('ChirpStack v3 (Application Server)', () => {
  // The documented v3 uplink event: the protobuf JSON marshaler (devEUI in base64) and json_v3 (devEUI in hex).
  const v3Up = (): Record<string, any> => ({
    applicationID: '123',
    applicationName: 'temperature-sensor',
    deviceName: 'garden-sensor',
    devEUI: 'AgICAgICAgI=',
    rxInfo: [
      { gatewayID: 'AwMDAwMDAwM=', time: '2019-11-08T13:59:25.048445Z', rssi: -48, loRaSNR: 9 },
      { gatewayID: 'BAQEBAQEBAQ=', time: '2019-11-08T13:59:25.050000Z', rssi: -60, loRaSNR: 4.5 },
    ],
    txInfo: { frequency: 868100000, modulation: 'LORA' },
    adr: true,
    dr: 5,
    fCnt: 10,
    fPort: 5,
    data: 'qg==',
    objectJSON: '{"temperatureSensor":25}',
  });

  test('documented up event, both marshalers, on the v3 and the legacy topic; the format is said', () => {
    const want = { format: 'chirpstack-v3', devEui: '0202020202020202', deviceName: 'garden-sensor', applicationId: '123', fPort: 5, bytes: Uint8Array.from([0xaa]), observedAt: Date.parse('2019-11-08T13:59:25.048445Z'), rssi: -48, snr: 9 };
    assert.deepEqual(parseChirpStackUp('application/123/device/0202020202020202/event/up', text(v3Up())), want);
    const hex = v3Up();
    hex.devEUI = '0202020202020202';
    hex.applicationID = 123;
    assert.deepEqual(parseChirpStackUp('application/123/device/0202020202020202/rx', text(hex)), want);
    assert.equal(parseLnsUplink('chirpstack-v4', '', text(v3Up())).format, 'chirpstack-v3', 'a chirpstack connection takes both');
  });

  test('bad v3 envelopes name the field and the format', () => {
    const m = v3Up();
    m.devEUI = 'AgIC';
    rejects(() => parseChirpStackUp('', text(m)), /devEUI must be 16 hex digits/);
    rejects(() => parseChirpStackUp('application/1/device/0303030303030303/event/up', text(v3Up())), /ChirpStack v3 uplink: devEUI 0202020202020202 does not match the topic's DevEUI 0303030303030303/);
    const d = v3Up();
    d.data = 'not base64!';
    rejects(() => parseChirpStackUp('', text(d)), /data must be base64 text/);
  });
});

test('end to end: a Milesight EM500-PP vendor vector through ChirpStack into canonical metrics', () => {
  const m = chirpUp();
  m.fPort = 85;
  m.data = Buffer.from([0x01, 0x75, 0x5c, 0x03, 0x7b, 0x0a, 0x00]).toString('base64');
  const up = parseChirpStackUp(CS_TOPIC, text(m));
  const profile = loadProfiles([join(repoRoot, 'device-profiles')]).get('milesight-em500-pp')!.profile;
  const { metrics } = decodeUplink(profile, builtinCodecs(), { kind: 'bytes', bytes: up.bytes, fPort: up.fPort });
  assert.deepEqual(metrics, { battery: { value: 92, unit: '%EL' }, pressure: { value: 10000, unit: 'Pa' } });
});
