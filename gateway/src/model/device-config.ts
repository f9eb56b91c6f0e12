import { z } from 'zod';
import { ComponentCode, DeviceId, GridId, Location, TopicSafeId } from '@gridgate/contract';
import { OpcuaDeviceBinding } from '../profiles/opcua-schema.js';

// One entry of the config's `devices:` list. It lives with the device model (Device.config is this section);
// config/schema.ts assembles it into the gateway config.

export const DeviceConfig = z
  .object({
    id: DeviceId,
    profile: z.string().describe('Device profile id (device-profiles/*.yaml)'),
    name: z.string().optional(),
    credentials: z
      .object({ passwordHash: z.string().regex(/^scrypt\$/, 'must be a scrypt hash written by `gridgate devices add`') })
      .strict()
      .optional()
      .describe('MQTT credentials of a device on the embedded broker (username = device id)'),
    lorawan: z
      .object({
        devEui: z
          .string()
          .regex(/^[0-9a-fA-F]{16}$/, 'a DevEUI has 16 hex digits')
          .transform((s) => s.toLowerCase()),
        lns: TopicSafeId.optional().describe('LNS connection id; default: any'),
      })
      .strict()
      .optional(),
    opcua: OpcuaDeviceBinding.optional(),
    location: Location.optional(),
    gridId: GridId.optional().describe('Explicit unit grid (override); default: looked up from location in the grid map, else gateway.gridId'),
    address: z.string().max(200).optional().describe('Street address, carried by case reports'),
    site: z.string().optional().describe('Site that binds this device to camera zones of the same site (e.g. a dust monitor to a construction-site zone); default gateway.site'),
    assetId: z.string().regex(/^\d{16}$/, 'a component ID has 16 digits').optional(),
    componentCode: ComponentCode.optional().describe("Overrides the profile's component class (e.g. 0103 for a rain-water cover)"),
    params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}).describe("Overrides the profile's params"),
    reportingIntervalS: z.number().positive().optional().describe("Overrides the profile's reporting interval (it sets the offline timeout)"),
    alarms: z
      .record(
        z.string(),
        z
          .object({
            enabled: z.boolean().default(true),
            forS: z.number().nonnegative().optional().describe("Overrides the rule's forS for this device"),
            clearForS: z.number().nonnegative().optional().describe("Overrides the rule's clearForS for this device"),
            severity: z.enum(['critical', 'major', 'minor', 'warning']).optional(),
          })
          .strict(),
      )
      .default({})
      .describe('Per-device rule tuning by rule id: switch a rule off, or change its timing or severity'),
  })
  .strict();
export type DeviceConfig = z.infer<typeof DeviceConfig>;
