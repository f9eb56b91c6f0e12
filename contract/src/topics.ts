/** Uplink topic layout (ARCHITECTURE.md "Public contracts"). One place builds and parses every topic. */
export const DEFAULT_TOPIC_PREFIX = 'gridgate/v1';

export interface UplinkTopics {
  status: string;
  telemetry(deviceId: string): string;
  alarm(deviceId: string): string;
  event(cameraId: string): string;
  report: string;
  availability(deviceId: string): string;
  cmd: string;
  cmdReply: string;
}

export function uplinkTopics(prefix: string, gatewayId: string): UplinkTopics {
  const base = `${prefix}/${gatewayId}`;
  return {
    status: `${base}/status`,
    telemetry: (d) => `${base}/telemetry/${d}`,
    alarm: (d) => `${base}/alarm/${d}`,
    event: (c) => `${base}/event/${c}`,
    report: `${base}/report`,
    availability: (d) => `${base}/device/${d}/availability`,
    cmd: `${base}/cmd`,
    cmdReply: `${base}/cmd/reply`,
  };
}

/** Southbound topics on the gateway's embedded broker. */
export const deviceTopics = {
  up: (deviceId: string) => `devices/${deviceId}/up`,
  cmd: (deviceId: string) => `devices/${deviceId}/cmd`,
};
