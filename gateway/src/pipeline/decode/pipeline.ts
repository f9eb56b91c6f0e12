import { uplinkTopics, type UplinkTopics } from '@gridgate/contract';
import type { AlarmEngine } from '../alarms/alarm-engine.js';
import type { Transition } from '../alarms/rule-lifecycle.js';
import type { Codec } from '../../profiles/codecs/codec.js';
import type { DeviceRegistry, Device } from '../../model/devices.js';
import type { RejectCounter } from '../../southbound/rejects.js';
import { alarmBody, availabilityBody, telemetryBody } from '../../northbound/messages.js';
import type { Outbound, UplinkSink } from '../../northbound/outbound.js';
import type { Stamper } from '../../northbound/stamper.js';
import { decodeUplink } from './decode.js';
import { Rejection, type DecodedUplink, type RawUplink } from '../../model/readings.js';

/** Downstream stages that want decoded telemetry and alarm transitions (history, reports, sinks). */
export interface PipelineListener {
  telemetry?(device: Device, u: DecodedUplink): void;
  alarm?(device: Device, t: Transition): void;
}

export interface PipelineCounters {
  received: number;
  decoded: number;
  alarms: number;
}

/**
 * normalize → decide: a raw uplink becomes canonical telemetry, alarm rules see it, and what results is
 * stamped and handed to the uplink sink. Synchronous and free of I/O (the sink and listeners are injected).
 */
export class Pipeline {
  readonly counters: PipelineCounters = { received: 0, decoded: 0, alarms: 0 };
  private readonly topics: UplinkTopics;
  private readonly online = new Map<string, boolean>();
  /** Latest canonical values per device (updated in place; `latestOf` hands out copies). */
  private readonly latest = new Map<string, { at: number; metrics: DecodedUplink['metrics'] }>();
  private readonly listeners: PipelineListener[] = [];

  constructor(
    private readonly deps: {
      gatewayId: string;
      topicPrefix: string;
      devices: DeviceRegistry;
      codecs: ReadonlyMap<string, Codec>;
      engine: AlarmEngine;
      stamper: Stamper;
      sink: UplinkSink;
      rejects: RejectCounter;
      now?: () => number;
    },
  ) {
    this.topics = uplinkTopics(deps.topicPrefix, deps.gatewayId);
  }

  addListener(l: PipelineListener): void {
    this.listeners.push(l);
  }

  /** Processes one uplink. Returns false when it was rejected (already counted and logged). */
  accept(raw: RawUplink): boolean {
    this.counters.received++;
    const device = this.deps.devices.byId.get(raw.deviceId);
    if (!device) {
      this.deps.rejects.reject(raw.deviceId, 'unknown-device', `no device "${raw.deviceId}" in this gateway's config`);
      return false;
    }
    let decoded: DecodedUplink;
    try {
      const d = decodeUplink(device.profile, this.deps.codecs, raw.content, device.params);
      decoded = { deviceId: device.id, profileId: device.profile.id, observedAt: raw.observedAt ?? raw.receivedAt, raw: d.raw, metrics: d.metrics };
      for (const p of d.problems) this.deps.rejects.reject(device.id, p.reason, `${p.message} (the message's other fields were kept)`);
    } catch (e) {
      if (e instanceof Rejection) {
        this.deps.rejects.reject(device.id, e.reason, e.message);
        return false;
      }
      throw e;
    }
    this.counters.decoded++;
    const now = raw.receivedAt;
    this.send({ topic: this.topics.telemetry(device.id), message: this.deps.stamper.stamp(telemetryBody(device, decoded), now), qos: 1, retain: false, class: 'telemetry' });
    this.remember(device.id, now, decoded.metrics);
    if (this.online.get(device.id) !== true) this.setAvailability(device.id, 'online', now);
    for (const l of this.listeners) l.telemetry?.(device, decoded);
    this.publishTransitions(this.deps.engine.sample(device.id, decoded.metrics, now));
    return true;
  }

  /**
   * Updates the device's latest values in place: a new object per message lived until the device's next one
   * (~0.5 s at bench:ingest's rate) and so was copied into the old generation every time. Readers copy.
   */
  private remember(deviceId: string, at: number, metrics: DecodedUplink['metrics']): void {
    let held = this.latest.get(deviceId);
    if (!held) this.latest.set(deviceId, (held = { at, metrics: {} }));
    held.at = at;
    for (const name in metrics) {
      const m = metrics[name]!;
      const h = held.metrics[name];
      if (!h) held.metrics[name] = { ...m };
      else {
        h.value = m.value;
        if (m.unit !== undefined) h.unit = m.unit;
        else delete h.unit;
      }
    }
  }

  /** The device's latest canonical values and when they came, for status views and the console. */
  latestOf(deviceId: string): { at: number; metrics: DecodedUplink['metrics'] } | undefined {
    const held = this.latest.get(deviceId);
    if (!held) return undefined;
    const metrics: DecodedUplink['metrics'] = {};
    for (const name in held.metrics) metrics[name] = { ...held.metrics[name]! };
    return { at: held.at, metrics };
  }

  /** A source vouches that a device is reachable though nothing changed (OPC-UA reports changes only). */
  heartbeat(deviceId: string, at: number): void {
    this.publishTransitions(this.deps.engine.alive(deviceId, at));
  }

  publishTransitions(ts: Transition[]): void {
    for (const t of ts) {
      const device = this.deps.devices.byId.get(t.deviceId);
      if (!device) continue;
      this.counters.alarms++;
      this.send({ topic: this.topics.alarm(device.id), message: this.deps.stamper.stamp(alarmBody(device, t), t.at), qos: 1, retain: false, class: 'alarm' });
      // A source that already said why it is offline (an OPC-UA endpoint) keeps its reason.
      if (t.rule.rule.kind === 'offline' && t.state === 'raised' && this.online.get(device.id) !== false) {
        this.setAvailability(device.id, 'offline', t.at, 'no data within the reporting interval');
      }
      for (const l of this.listeners) l.alarm?.(device, t);
    }
  }

  /** Availability of anything with an id: a device, a camera, an OPC-UA endpoint, a network-server connection. */
  setAvailability(id: string, state: 'online' | 'offline', at: number, reason?: string): void {
    this.online.set(id, state === 'online');
    this.send({ topic: this.topics.availability(id), message: this.deps.stamper.stamp(availabilityBody(id, state, at, reason), at), qos: 1, retain: true, class: 'availability' });
  }

  isOnline(id: string): boolean | undefined {
    return this.online.get(id);
  }

  private send(o: Outbound): void {
    this.deps.sink.put(o);
  }
}
