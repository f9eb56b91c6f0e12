import { z } from 'zod';
import { VisionConfig } from '../pipeline/vision/config.js';
import { OpcuaConfig, OpcuaDeviceBinding } from '../southbound/opcua/config.js';
import { DEFAULT_TOPIC_PREFIX, DeviceId, GatewayId, GridId, Location, ComponentCode, TopicSafeId } from '@gridgate/contract';
import { HistoryConfig } from '../local/history/config.js';
import { OutboxConfig } from '../northbound/outbox/config.js';
import { InfluxConfig } from '../northbound/influx/config.js';
import { GridsConfig } from '../pipeline/grids/config.js';
import { ReportsConfig, defaultReportsConfig } from '../pipeline/reports/config.js';
import { CameraConfig, checkCameras, VideoConfig } from '../southbound/cameras/config.js';
import { ConsoleConfig, defaultConsoleConfig } from '../local/console/config.js';

// The zod schema below is the config type, the JSON Schema (firmware-configs/gateway.schema.json) and the
// reference docs (firmware-configs/CONFIG.md): `npm run export:config` regenerates both; a test checks they are current.

const Port = z.number().int().min(1).max(65535);
const Secret = z
  .union([z.string().min(1), z.number().transform(String)])
  .describe('Secret: write ${ENV_VAR} here, never the value itself');
const FilePath = z.string().min(1).describe('Path, relative to the config file');

export const TlsFiles = z
  .object({
    ca: FilePath.optional().describe('CA bundle (PEM) that signs the peer'),
    cert: FilePath.optional().describe('Own certificate (PEM)'),
    key: FilePath.optional().describe('Own private key (PEM)'),
  })
  .strict();

export const BrokerConfig = z
  .object({
    enabled: z.boolean().default(true),
    host: z.string().default('127.0.0.1').describe('Address the embedded broker listens on; 0.0.0.0 to serve the cabinet LAN'),
    port: Port.default(1883),
    tls: z
      .object({
        host: z.string().optional(),
        port: Port.default(8883),
        cert: FilePath,
        key: FilePath,
        ca: FilePath.optional().describe('CA for client certificates'),
        requireClientCert: z.boolean().default(false),
      })
      .strict()
      .optional()
      .describe('Optional TLS listener, in addition to the plain one (set enabled ports deliberately)'),
    plain: z.boolean().default(true).describe('Serve the plain (non-TLS) listener; turn off where TLS is required'),
    allowAnonymous: z
      .boolean()
      .default(false)
      .describe('Lab only: accept clients without credentials (the client id is then taken as the device id)'),
    deviceKeySecret: z
      .string()
      .min(16, 'use at least 16 characters of a random secret')
      .optional()
      .describe('Fleet secret for derived device passwords: password = base64url(HMAC-SHA256(secret, deviceId)). Optional; per-device passwordHash is the default'),
    maxPacketBytes: z.number().int().min(256).max(268435455).default(65536).describe('Connections sending a larger MQTT packet are closed before it is buffered'),
    rateLimit: z
      .object({
        perSecond: z.number().positive().default(5).describe('Sustained messages per second per device, over all its connections and reconnects'),
        burst: z.number().int().positive().default(20),
      })
      .strict()
      .default({ perSecond: 5, burst: 20 })
      .describe('Beyond it a QoS 0 message is dropped; a QoS 1/2 one is not acknowledged and the connection is closed, so the device sends it again after reconnecting'),
    maxClients: z.number().int().positive().default(5000),
    maxConnectionsPerDevice: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(1)
      .describe('Connections one device may hold at once; a further one is refused (client ids: the device id, then "<id>:<suffix>"). A reconnect with the same client id replaces the old connection'),
    login: z
      .object({
        freeFailures: z.number().int().min(1).max(100).default(3).describe('Wrong passwords from one address for one device before its logins must wait'),
        maxBackoffS: z.number().int().min(1).max(3600).default(300).describe('Longest wait: 1 s after the free failures, doubling with each further wrong password, up to this'),
        concurrentChecks: z
          .number()
          .int()
          .min(1)
          .max(4)
          .default(1)
          .describe('Password checks (scrypt: 16 MiB and tens to hundreds of ms of CPU each) run at once; a few more wait, further logins are refused with "server unavailable" and retried by the device'),
      })
      .strict()
      .default({ freeFailures: 3, maxBackoffS: 300, concurrentChecks: 1 })
      .describe('Device logins against password guessing (per address and device) and against exhausting the CPU'),
  })
  .strict();

export const UplinkConfig = z
  .object({
    url: z
      .string()
      .regex(/^(mqtts?|wss?):\/\//, 'use mqtt://, mqtts://, ws:// or wss://')
      .describe('Central broker URL; mqtts:// wherever it crosses a network'),
    clientId: z.string().optional().describe('Default: the gateway id'),
    protocolVersion: z
      .union([z.literal(4), z.literal(5)])
      .default(5)
      .describe('MQTT 5 (default) or 3.1.1 (4) for central brokers without MQTT 5'),
    username: z.string().optional(),
    password: Secret.optional(),
    tls: TlsFiles.optional(),
    rejectUnauthorized: z.boolean().default(true).describe('Verify the central broker certificate (keep true)'),
    topicPrefix: z
      .string()
      .regex(/^[^#+]+$/, 'no MQTT wildcards')
      .default(DEFAULT_TOPIC_PREFIX),
    keepaliveS: z.number().int().min(5).max(3600).default(30),
    statusIntervalS: z.number().int().min(5).default(60).describe('How often the retained status with counters is refreshed'),
    reconnect: z
      .object({ minMs: z.number().int().min(100).default(1000), maxMs: z.number().int().min(1000).default(30000) })
      .strict()
      .default({ minMs: 1000, maxMs: 30000 }),
  })
  .strict();

export type BrokerConfig = z.infer<typeof BrokerConfig>;
export type UplinkConfig = z.infer<typeof UplinkConfig>;

export const LnsConfig = z
  .object({
    id: TopicSafeId.describe('Name of this network-server connection'),
    kind: z.enum(['ttn-v3', 'chirpstack-v4']),
    url: z.string().regex(/^(mqtts?|wss?):\/\//, 'use mqtt://, mqtts://, ws:// or wss://'),
    username: z.string().optional(),
    password: Secret.optional(),
    tls: TlsFiles.optional(),
    rejectUnauthorized: z.boolean().default(true),
    topics: z.array(z.string()).optional().describe('Default: v3/+/devices/+/up (TTN) or application/+/device/+/event/up (ChirpStack)'),
  })
  .strict();

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

export const ApiConfig = z
  .object({
    enabled: z.boolean().default(true),
    host: z.string().default('127.0.0.1').describe('Address of the local HTTP API (and console); 0.0.0.0 to serve the cabinet LAN'),
    port: Port.default(8080),
    token: Secret.optional().describe('Bearer token for /api/* (and /metrics unless metricsPublic). Without one, /api/* is refused'),
    tls: z.object({ cert: FilePath, key: FilePath }).strict().optional().describe('Serve HTTPS with this certificate'),
    metricsPublic: z.boolean().default(false).describe('Serve /metrics without the token (for a Prometheus on a trusted network)'),
  })
  .strict();
export type ApiConfig = z.infer<typeof ApiConfig>;

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
export type LnsConfig = z.infer<typeof LnsConfig>;
