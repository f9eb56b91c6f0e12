import { deviceTopics } from '@gridgate/contract';
import { capText } from '../../util/cap.js';

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

/** Device ids are TopicSafeId (@gridgate/contract): at most 64 characters. A longer user name names no device. */
export const MAX_DEVICE_ID_CHARS = 64;
/** A device id, the separator and a suffix for a further connection of the same device. */
export const MAX_CLIENT_ID_CHARS = 128;
/** Between the device id and the suffix of a further connection's client id: a character no device id has. */
export const CLIENT_ID_SEPARATOR = ':';

/**
 * Client ids belong to devices: a device connects with its own id (or `<id>:<suffix>`), so it can never take
 * over another device's session, and MQTT's takeover rule (a new connection with a client id closes the old
 * one) only ever lets a device replace its own connection. `-` would not do: `cover` could claim `cover-2`.
 * Undefined when `clientId` may be used by `deviceId`, else why not.
 */
export function clientIdProblem(clientId: string, deviceId: string): string | undefined {
  if (clientId === deviceId || clientId.startsWith(deviceId + CLIENT_ID_SEPARATOR)) return undefined;
  return `client id "${capText(clientId)}" does not belong to device ${deviceId}: use the device id as client id (or "${deviceId}${CLIENT_ID_SEPARATOR}<suffix>" for a further connection, see broker.maxConnectionsPerDevice)`;
}
