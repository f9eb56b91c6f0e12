import { deviceTopics } from '@gridgate/contract';

// Least privilege on the embedded broker: a device publishes only its own uplink topic and subscribes
// only to its own command topic. Nothing else, no wildcards.

export function mayPublish(deviceId: string, topic: string): boolean {
  return topic === deviceTopics.up(deviceId);
}

export function maySubscribe(deviceId: string, topic: string): boolean {
  return topic === deviceTopics.cmd(deviceId);
}

/** The device id in an uplink topic `devices/{id}/up`, or undefined. */
export function deviceOfUpTopic(topic: string): string | undefined {
  const m = /^devices\/([^/]+)\/up$/.exec(topic);
  return m?.[1];
}
