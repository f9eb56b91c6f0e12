import { join } from 'node:path';
import { z } from 'zod';
import { ComponentCode, GridId, Location, TopicSafeId } from '@gridgate/contract';
import { FilePath, Secret } from '../../util/config-fields.js';

// The `opcua:` section of a gateway config; one line in config/schema.ts points here. A device's `opcua:` binding
// is profiles/opcua-schema.ts's (it fills the profile's node ids, and the device model sits below this folder).

export const SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;
export const SECURITY_POLICIES = ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] as const;
export type SecurityModeName = (typeof SECURITY_MODES)[number];
export type SecurityPolicyName = (typeof SECURITY_POLICIES)[number];

export const OpcuaUserIdentity = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('anonymous') }).strict(),
    z.object({ kind: z.literal('password'), username: z.string().min(1), password: Secret }).strict(),
    z
      .object({
        kind: z.literal('certificate'),
        certificate: FilePath.describe('User certificate (PEM or DER)'),
        privateKey: FilePath.describe('Its private key (PEM)'),
      })
      .strict(),
  ])
  .describe('User identity for the session: anonymous, user name + password, or an X.509 user certificate');
export type OpcuaUserIdentity = z.infer<typeof OpcuaUserIdentity>;

export const OpcuaEndpointConfig = z
  .object({
    id: TopicSafeId.describe('Name of this endpoint; its availability and its one availability alarm are published under this id'),
    name: z.string().optional(),
    url: z
      .string()
      .regex(/^opc\.tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^\s/:[\]]+)(:\d{1,5})?(\/\S*)?$/, 'use opc.tcp://host:port (e.g. opc.tcp://10.0.0.7:4840)'),
    securityMode: z.enum(SECURITY_MODES).default('SignAndEncrypt').describe('None only on a closed cabinet LAN: it neither signs nor encrypts'),
    securityPolicy: z
      .enum(SECURITY_POLICIES)
      .default('Basic256Sha256')
      .describe('Ignored when securityMode is None. The server certificate must be trusted first: `gridgate opcua trust`'),
    user: OpcuaUserIdentity.default({ kind: 'anonymous' }),
    mode: z
      .enum(['auto', 'subscribe', 'poll'])
      .default('auto')
      .describe('auto: subscriptions with monitored items, polling where the server offers no subscriptions'),
    sessionTimeoutMs: z.number().int().min(10_000).max(3_600_000).default(60_000),
    requestTimeoutMs: z.number().int().min(1000).max(120_000).default(10_000).describe('A request without an answer in this time counts as a lost connection'),
    reconnect: z
      .object({
        minMs: z.number().int().min(100).default(1000),
        maxMs: z.number().int().min(1000).default(30_000),
      })
      .strict()
      .default({ minMs: 1000, maxMs: 30_000 })
      .describe('Exponential backoff with jitter between connection attempts'),
    offlineAlarmAfterS: z
      .number()
      .positive()
      .default(30)
      .describe('Raise the endpoint availability alarm once it has been unreachable this long (a server restart stays below it)'),
    location: Location.optional().describe("Where the endpoint's alarm is filed; default: its first device's location"),
    gridId: GridId.optional().describe("Default: its first device's grid"),
    componentCode: ComponentCode.optional().describe("Default: its first device's component class"),
  })
  .strict();
export type OpcuaEndpointConfig = z.infer<typeof OpcuaEndpointConfig>;

export const OpcuaConfig = z
  .object({
    pkiDir: FilePath.optional().describe("Certificate store: the gateway's own application certificate, trusted and rejected server certificates. Default: <dataDir>/opcua-pki"),
    applicationName: z.string().min(1).default('GridGate').describe('Application name in the gateway certificate (its URI is urn:gridgate:<gateway id>)'),
    endpoints: z.array(OpcuaEndpointConfig).default([]),
  })
  .strict()
  .describe('OPC-UA servers (lighting cabinets, pump stations, PLCs) this gateway reads; devices bind to them with `opcua.endpoint`');
export type OpcuaConfig = z.infer<typeof OpcuaConfig>;

/** The PKI folder of a config: explicit, or inside the data dir. */
export function pkiDirOf(c: { gateway: { dataDir: string }; opcua: OpcuaConfig }): string {
  return c.opcua.pkiDir ?? join(c.gateway.dataDir, 'opcua-pki');
}

/** The gateway's own application certificate, inside the PKI folder (node-opcua's client layout). */
export const OWN_CERT = 'own/certs/client_certificate.pem';

/** The application URI in the gateway's certificate; servers see the gateway under it. */
export const applicationUriOf = (gatewayId: string) => `urn:gridgate:${gatewayId}`;
