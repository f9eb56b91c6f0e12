import { Point } from '@influxdata/influxdb-client';
import type { Telemetry } from '@gridgate/contract';

/**
 * One telemetry message as an InfluxDB point: measurement per asset type (manhole-cover, hydrant, ...),
 * tags device, gateway, grid, profile; one field per metric; the time the device observed it (ms).
 * Undefined when the message has no fields to write.
 */
export function telemetryLine(m: Pick<Telemetry, 'assetType' | 'deviceId' | 'gatewayId' | 'gridId' | 'profile' | 'observedAt' | 'metrics'>): string | undefined {
  const p = new Point(m.assetType).tag('device', m.deviceId).tag('gateway', m.gatewayId).tag('grid', m.gridId).tag('profile', m.profile);
  for (const [name, metric] of Object.entries(m.metrics)) {
    const v = metric.value;
    if (typeof v === 'number') {
      if (Number.isFinite(v)) p.floatField(name, v);
    } else if (typeof v === 'boolean') p.booleanField(name, v);
    else p.stringField(name, v);
  }
  p.timestamp(String(Date.parse(m.observedAt)));
  return p.toLineProtocol();
}
