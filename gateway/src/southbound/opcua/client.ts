import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageSecurityMode, OPCUAClient, SecurityPolicy, UserTokenType, type EndpointDescription, type UserIdentityInfo } from 'node-opcua-client';
import { readCertificate } from 'node-opcua-crypto';
import { OWN_CERT, type OpcuaUserIdentity, type SecurityModeName, type SecurityPolicyName } from './config.js';
import { openPki } from './pki.js';

// Creating node-opcua clients the one way the gateway and the CLI both use: our PKI folder, our own
// certificate, no automatic reconnection (the endpoint owns reconnection and its backoff).

export interface ClientOptions {
  pkiDir: string;
  applicationName: string;
  applicationUri: string;
  securityMode: SecurityModeName;
  securityPolicy: SecurityPolicyName;
  requestTimeoutMs?: number;
  sessionTimeoutMs?: number;
}

export async function createClient(o: ClientOptions): Promise<OPCUAClient> {
  const cm = await openPki(o.pkiDir);
  const none = o.securityMode === 'None';
  return OPCUAClient.create({
    applicationName: o.applicationName,
    applicationUri: o.applicationUri,
    clientName: o.applicationName,
    clientCertificateManager: cm,
    certificateFile: join(o.pkiDir, OWN_CERT),
    privateKeyFile: cm.privateKey,
    securityMode: MessageSecurityMode[o.securityMode],
    securityPolicy: none ? SecurityPolicy.None : SecurityPolicy[o.securityPolicy],
    endpointMustExist: false,
    // One attempt per connect: the endpoint's own backoff decides when to try again.
    connectionStrategy: { maxRetry: 0, initialDelay: 500, maxDelay: 1000 },
    requestedSessionTimeout: o.sessionTimeoutMs ?? 60_000,
    ...(o.requestTimeoutMs && { transportTimeout: o.requestTimeoutMs, defaultTransactionTimeout: o.requestTimeoutMs }),
    // Liveness is the endpoint's own watchdog over publish responses, keep-alives and poll answers.
    keepSessionAlive: false,
  });
}

export function userIdentity(u: OpcuaUserIdentity): UserIdentityInfo {
  switch (u.kind) {
    case 'anonymous':
      return { type: UserTokenType.Anonymous };
    case 'password':
      return { type: UserTokenType.UserName, userName: u.username, password: u.password };
    case 'certificate':
      return { type: UserTokenType.Certificate, certificateData: readCertificate(u.certificate), privateKey: readFileSync(u.privateKey, 'utf8') };
  }
}

/** "SignAndEncrypt / Basic256Sha256 (anonymous, username)" for each endpoint a server offers. */
export function describeEndpoint(e: EndpointDescription): string {
  const policy = (e.securityPolicyUri ?? '').split('#')[1] ?? 'None';
  const tokens = (e.userIdentityTokens ?? []).map((t) => UserTokenType[t.tokenType]?.replace('UserName', 'password').replace('Certificate', 'certificate').replace('Anonymous', 'anonymous') ?? String(t.tokenType));
  return `${MessageSecurityMode[e.securityMode]} / ${policy} (${[...new Set(tokens)].join(', ') || 'no user tokens'})`;
}

/** The endpoints a server offers, over an unsecured discovery connection (always allowed). */
export async function getEndpoints(url: string, o: Omit<ClientOptions, 'securityMode' | 'securityPolicy'>): Promise<EndpointDescription[]> {
  const client = await createClient({ ...o, securityMode: 'None', securityPolicy: 'None' });
  try {
    await client.connect(url);
    return await client.getEndpoints();
  } finally {
    await client.disconnect().catch(() => undefined);
  }
}
