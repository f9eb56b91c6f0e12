import type { DecodedUplink } from '../../model/readings.js';
import type { PipelineListener } from '../decode/pipeline.js';
import type { Device } from '../../model/devices.js';

export interface Exceedance {
  deviceId: string;
  metric: string;
  value: number;
  limit: number;
  at: number;
}

/**
 * Latest sensor readings per site, fed from the pipeline's telemetry, so a camera zone can ask whether a
 * dust monitor of its own site is above a limit right now. A device belongs to its own `site`, else to the
 * gateway's.
 */
export class SiteSensors implements PipelineListener {
  private readonly bySite = new Map<string, Map<string, Map<string, { value: number; at: number }>>>();

  constructor(private readonly defaultSite?: string) {}

  telemetry(device: Device, u: DecodedUplink): void {
    const site = device.config.site ?? this.defaultSite;
    if (!site) return;
    let devices = this.bySite.get(site);
    if (!devices) this.bySite.set(site, (devices = new Map()));
    let metrics = devices.get(device.id);
    if (!metrics) devices.set(device.id, (metrics = new Map()));
    for (const [name, m] of Object.entries(u.metrics)) if (typeof m.value === 'number') metrics.set(name, { value: m.value, at: u.observedAt });
  }

  /** Readings of the site's sensors above their limit, no older than maxAgeS. */
  exceedances(site: string | undefined, limits: Record<string, number>, maxAgeS: number, now: number): Exceedance[] {
    if (!site) return [];
    const out: Exceedance[] = [];
    for (const [deviceId, metrics] of this.bySite.get(site) ?? []) {
      for (const [metric, limit] of Object.entries(limits)) {
        const r = metrics.get(metric);
        if (r && r.value > limit && (now - r.at) / 1000 <= maxAgeS) out.push({ deviceId, metric, value: r.value, limit, at: r.at });
      }
    }
    return out;
  }
}
