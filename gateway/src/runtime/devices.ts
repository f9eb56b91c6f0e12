import type { ComponentCode } from '@gridgate/contract';
import type { GatewayConfig } from '../config/schema.js';
import type { LoadedProfile } from '../profiles/load.js';
import { resolveRule } from '../model/alarm-conditions.js';
import type { Device, DeviceRegistry, GridResolver } from '../model/devices.js';

/** The device registry of a configuration: each configured device joined with its profile, its grid and its tuned rules. */
export function buildDevices(config: GatewayConfig, profiles: Map<string, LoadedProfile>, resolveGrid?: GridResolver): DeviceRegistry {
  const byId = new Map<string, Device>();
  const byDevEui = new Map<string, Device>();
  for (const d of config.devices) {
    const profile = profiles.get(d.profile)?.profile;
    if (!profile) throw new Error(`device ${d.id}: unknown profile ${d.profile}`);
    const location = d.location ?? config.gateway.location!;
    const gridId = d.gridId ?? (d.location && resolveGrid?.(d.location)) ?? config.gateway.gridId;
    if (!gridId) throw new Error(`device ${d.id}: its location is outside every grid of the grid map and gateway.gridId is not set`);
    const params = { ...profile.params, ...d.params };
    const rules = profile.alarms
      .filter((r) => d.alarms[r.id]?.enabled !== false)
      .map((r) => {
        try {
          const o = d.alarms[r.id];
          const tuned = o ? { ...r, ...(o.forS !== undefined && { forS: o.forS }), ...(o.clearForS !== undefined && { clearForS: o.clearForS }), ...(o.severity && { severity: o.severity }) } : r;
          return resolveRule(tuned, params, d.reportingIntervalS ?? profile.reportingIntervalS);
        } catch (e) {
          throw new Error(`device ${d.id}, rule ${r.id}: ${(e as Error).message}`);
        }
      });
    const device: Device = {
      id: d.id,
      config: d,
      profile,
      gridId,
      location,
      componentCode: (d.componentCode ?? profile.componentCode) as ComponentCode,
      assetType: profile.assetType,
      ...(d.assetId && { assetId: d.assetId }),
      params,
      rules,
    };
    byId.set(d.id, device);
    if (d.lorawan) byDevEui.set(d.lorawan.devEui, device);
  }
  return { byId, byDevEui };
}
