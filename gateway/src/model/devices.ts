import type { Location } from '@gridgate/contract';
import type { DeviceConfig } from './device-config.js';
import type { DeviceProfile } from '../profiles/schema.js';
import type { ResolvedRule } from './alarm-conditions.js';

/** A configured device joined with its profile: everything the pipeline needs to know about it. */
export interface Device {
  id: string;
  config: DeviceConfig;
  profile: DeviceProfile;
  gridId: string;
  location: Location;
  componentCode: string;
  assetType: string;
  assetId?: string;
  params: Record<string, number | string | boolean>;
  rules: ResolvedRule[];
}

/** Grid lookup by position (the grid map); absent until a deployment configures one. */
export type GridResolver = (loc: Location) => string | undefined;

export interface DeviceRegistry {
  byId: Map<string, Device>;
  /** LoRaWAN DevEUI (lower-case hex) → device. */
  byDevEui: Map<string, Device>;
}
