import type { ComponentCode, Location } from '@gridgate/contract';
import { resolveRule } from '../../model/alarm-conditions.js';
import type { AlarmRule, DeviceProfile } from '../../profiles/schema.js';
import type { Device, DeviceRegistry } from '../../model/devices.js';
import type { OpcuaConfig, OpcuaEndpointConfig } from './config.js';

// An endpoint (the cabinet's PLC or OPC-UA server) is an alarm subject of its own: when it is
// unreachable, it raises ONE availability alarm, and the offline rules of the devices behind it are
// held back (runtime/gateway.ts `sourceDown`). It is registered like a device so that the alarm
// engine, its persistence and the alarm message need nothing new.

/** What an endpoint's alarm subject takes from the gateway config: its endpoints, and where the cabinet stands. */
export interface EndpointDefaults {
  gateway: { location?: Location | undefined; gridId?: string | undefined };
  opcua: Pick<OpcuaConfig, 'endpoints'>;
}

export const ENDPOINT_PROFILE_ID = 'opcua-endpoint';
export const ENDPOINT_OFFLINE_RULE = 'endpoint-offline';

export function endpointOfflineRule(afterS: number): AlarmRule {
  return {
    id: ENDPOINT_OFFLINE_RULE,
    kind: 'offline',
    afterS,
    severity: 'major',
    title: { zh: 'OPC UA 通信中断（控制柜/泵站无法连接）', en: 'OPC-UA endpoint unreachable (cabinet or station controller)' },
    forS: 0,
    clearForS: 0,
    flapping: { maxRaises: 4, windowS: 900, holdS: 600 },
  };
}

function endpointProfile(e: OpcuaEndpointConfig, assetType: DeviceProfile['assetType'], componentCode: string): DeviceProfile {
  return {
    id: ENDPOINT_PROFILE_ID,
    vendor: 'OPC Foundation',
    model: 'OPC-UA server',
    description: 'Built in: the availability of one configured OPC-UA endpoint',
    assetType,
    componentCode: componentCode as ComponentCode,
    transport: 'opcua',
    reportingIntervalS: e.offlineAlarmAfterS,
    params: {},
    metrics: [],
    alarms: [endpointOfflineRule(e.offlineAlarmAfterS)],
  };
}

/** The alarm subject of one endpoint: filed where its first device is, unless the endpoint says otherwise. */
export function endpointDevice(e: OpcuaEndpointConfig, config: EndpointDefaults, bound: readonly Device[]): Device {
  const first = bound[0];
  const location = e.location ?? first?.location ?? config.gateway.location;
  const gridId = e.gridId ?? first?.gridId ?? config.gateway.gridId;
  if (!location || !gridId) throw new Error(`opcua endpoint ${e.id}: give it a location and gridId (it has no devices to take them from, and the gateway has none)`);
  const componentCode = e.componentCode ?? first?.componentCode ?? '0116'; // 电力设施: a cabinet controller
  const profile = endpointProfile(e, (first?.assetType ?? 'other') as DeviceProfile['assetType'], componentCode);
  return {
    id: e.id,
    config: { id: e.id, profile: ENDPOINT_PROFILE_ID, ...(e.name && { name: e.name }), location, gridId, params: {}, alarms: {} },
    profile,
    gridId,
    location,
    componentCode,
    assetType: profile.assetType,
    params: {},
    rules: profile.alarms.map((r) => resolveRule(r, {}, e.offlineAlarmAfterS)),
  };
}

/** Adds one alarm subject per configured endpoint to the registry (before the alarm engine is built). */
export function addEndpointDevices(registry: DeviceRegistry, config: EndpointDefaults): void {
  for (const e of config.opcua.endpoints) {
    if (registry.byId.has(e.id)) throw new Error(`opcua endpoint ${e.id}: a device has the same id`);
    const bound = [...registry.byId.values()].filter((d) => d.config.opcua?.endpoint === e.id);
    registry.byId.set(e.id, endpointDevice(e, config, bound));
  }
}

export const isEndpointDevice = (d: Device): boolean => d.profile.id === ENDPOINT_PROFILE_ID;
