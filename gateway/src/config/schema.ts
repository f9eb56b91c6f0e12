import { z } from 'zod';
import { VisionConfig } from '../pipeline/vision/config.js';
import { OpcuaConfig } from '../southbound/opcua/config.js';
import { DeviceConfig } from '../model/device-config.js';
import { DEFAULT_TOPIC_PREFIX, GatewayId, GridId, Location } from '@gridgate/contract';
import { HistoryConfig } from '../local/history/config.js';
import { OutboxConfig } from '../northbound/outbox/config.js';
import { InfluxConfig } from '../northbound/influx/config.js';
import { GridsConfig } from '../pipeline/grids/config.js';
import { ReportsConfig, defaultReportsConfig } from '../pipeline/reports/config.js';
import { CameraConfig, checkCameras, VideoConfig } from '../southbound/cameras/config.js';
import { ConsoleConfig, defaultConsoleConfig } from '../local/console/config.js';
import { BrokerConfig } from '../southbound/broker/config.js';
import { LnsConfig } from '../southbound/lns/config.js';
import { UplinkConfig } from '../northbound/config.js';
import { ApiConfig } from '../local/api/config.js';
import { FilePath, TlsFiles } from '../util/config-fields.js';

// The zod schema below is the config type, the JSON Schema (firmware-configs/gateway.schema.json) and the
// reference docs (firmware-configs/CONFIG.md): `npm run export` regenerates both; a test checks they are current.

export const GatewayConfig = z
  .object({
    gateway: z
      .object({
        id: GatewayId,
        name: z.string().optional(),
        site: z.string().optional(),
        dataDir: FilePath.default('./data').describe('State: alarms, outbox, history. Relative to the config file'),
        gridId: GridId.optional().describe('Default unit grid for devices without their own'),
        location: Location.optional().describe('Where the cabinet stands; default location of devices without their own'),
        timezone: z.string().default('Asia/Shanghai'),
      })
      .strict(),
    log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') }).strict().default({ level: 'info' }),
    profiles: z
      .object({ dirs: z.array(FilePath).default(['../device-profiles']) })
      .strict()
      .default({ dirs: ['../device-profiles'] }),
    broker: BrokerConfig.default(BrokerConfig.parse({})),
    uplink: UplinkConfig,
    api: ApiConfig.default(ApiConfig.parse({})),
    lns: z.array(LnsConfig).default([]),
    opcua: OpcuaConfig.default(OpcuaConfig.parse({})),
    devices: z.array(DeviceConfig).default([]),
    outbox: OutboxConfig.default(OutboxConfig.parse({})).describe('Store-and-forward to the central broker: durability, order, telemetry quota and time-to-live (docs/durability.md)'),
    history: HistoryConfig.default(HistoryConfig.parse({})).describe('Local telemetry history for the console and field engineers (docs/history.md)'),
    influx: InfluxConfig.optional().describe('Also write telemetry to InfluxDB (docs/history.md)'),
    grids: GridsConfig.optional().describe('Unit-grid map: devices and camera zones get their grid ID from their location'),
    reports: ReportsConfig.default(defaultReportsConfig).describe('Case reports for the city case system'),
    vision: VisionConfig.optional().describe('On-device detection (stalls, parking, dust) for the cameras of this gateway'),
    cameras: z.array(CameraConfig).default([]),
    video: VideoConfig.default(VideoConfig.parse({})),
    console: ConsoleConfig.default(defaultConsoleConfig).describe('Local web console (/console on the API port): admin login, dashboard, devices, cameras and zone editor, reports, config'),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const issue of checkCameras(c)) ctx.addIssue({ code: 'custom', ...issue });
    const seen = new Map<string, number>();
    const euis = new Map<string, number>();
    c.devices.forEach((d, i) => {
      const prev = seen.get(d.id);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `device id "${d.id}" is already used by devices[${prev}]` });
      else seen.set(d.id, i);
      if (d.lorawan) {
        const p = euis.get(d.lorawan.devEui);
        if (p !== undefined) ctx.addIssue({ code: 'custom', path: ['devices', i, 'lorawan', 'devEui'], message: `DevEUI ${d.lorawan.devEui} is already used by devices[${p}]` });
        else euis.set(d.lorawan.devEui, i);
        if (d.lorawan.lns && !c.lns.some((l) => l.id === d.lorawan!.lns)) {
          ctx.addIssue({ code: 'custom', path: ['devices', i, 'lorawan', 'lns'], message: `no lns connection with id "${d.lorawan.lns}"` });
        }
      }
      if (!d.gridId && !c.gateway.gridId && !d.location) {
        ctx.addIssue({ code: 'custom', path: ['devices', i], message: 'the device has no gridId and no location, and gateway.gridId is not set' });
      }
      if (!d.location && !c.gateway.location) {
        ctx.addIssue({ code: 'custom', path: ['devices', i], message: 'the device has no location and gateway.location is not set' });
      }
    });
    if (c.broker.enabled && !c.broker.plain && !c.broker.tls) ctx.addIssue({ code: 'custom', path: ['broker'], message: 'plain listener is off and no tls listener is configured' });
  });
export type GatewayConfig = z.infer<typeof GatewayConfig>;

// Re-exported: the CLI and the tests name every section through the assembled schema.
export { ApiConfig, BrokerConfig, DeviceConfig, LnsConfig, TlsFiles, UplinkConfig };
