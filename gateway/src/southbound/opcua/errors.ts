// Pure: a node-opcua failure becomes one sentence a field engineer can act on, with whether waiting
// and retrying can fix it on its own.

export type FailureCause =
  | 'unreachable'
  | 'timeout'
  | 'security-unsupported'
  | 'server-cert-untrusted'
  | 'server-cert-expired'
  | 'server-cert-invalid'
  | 'gateway-cert-rejected'
  | 'auth-failed'
  | 'too-many-sessions'
  | 'no-subscriptions'
  | 'connection-lost'
  | 'other';

export interface Failure {
  cause: FailureCause;
  /** What went wrong and what to do, without the endpoint (the caller prefixes it). */
  message: string;
}

export interface FailureContext {
  url: string;
  securityMode: string;
  securityPolicy: string;
  /** The command that trusts this server's certificate, shown where it helps. */
  trustHint: string;
  /** What the server offers, when known (for a security mismatch). */
  offered?: string[];
  ownCertificate?: string;
}

const STATUS = /\b(Bad[A-Za-z]+)\b/;

export function statusName(text: string): string | undefined {
  return STATUS.exec(text)?.[1];
}

export function describeFailure(err: unknown, ctx: FailureContext): Failure {
  const text = err instanceof Error ? err.message : String(err);
  const hostPort = ctx.url.replace(/^opc\.tcp:\/\//, '').replace(/\/.*$/, '');
  const status = statusName(text);
  const sys = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|EPIPE)\b/.exec(text)?.[1];

  if (status === 'BadCertificateTimeInvalid' || status === 'BadCertificateIssuerTimeInvalid') {
    return { cause: 'server-cert-expired', message: `the server's certificate${status === 'BadCertificateIssuerTimeInvalid' ? ' issuer' : ''} has expired or is not valid yet (${status}): renew it on the server, then trust the new one with ${ctx.trustHint}` };
  }
  if (status === 'BadCertificateUntrusted' || /verification failed/i.test(text) && /Untrusted/i.test(text)) {
    return { cause: 'server-cert-untrusted', message: `the server's certificate is not trusted by this gateway (it was put in the PKI rejected folder): check its thumbprint and trust it with ${ctx.trustHint}` };
  }
  if (status && /^BadCertificate/.test(status) && /server Certificate verification/i.test(text)) {
    return { cause: 'server-cert-invalid', message: `the server's certificate was refused (${status}): fix the certificate on the server, then trust it with ${ctx.trustHint}` };
  }
  if (/Cannot find an Endpoint matching|cannot find endpoint for securityMode/i.test(text) || status === 'BadSecurityPolicyRejected' || status === 'BadSecurityModeRejected') {
    const offered = ctx.offered?.length ? ` The server offers: ${ctx.offered.join(', ')}.` : '';
    return { cause: 'security-unsupported', message: `the server offers no endpoint with security ${ctx.securityMode} / ${ctx.securityPolicy}.${offered} Set securityMode and securityPolicy to one it offers` };
  }
  if (status === 'BadSecurityChecksFailed' || status === 'BadCertificateInvalid' || /BadCertificate/.test(text) && !/server Certificate/i.test(text)) {
    return { cause: 'gateway-cert-rejected', message: `the server refused the gateway's certificate (${status ?? 'security checks failed'}): trust the gateway certificate on the server${ctx.ownCertificate ? ` (${ctx.ownCertificate})` : ''}; \`gridgate opcua cert\` shows it` };
  }
  if (status === 'BadUserAccessDenied' || status === 'BadIdentityTokenRejected' || status === 'BadIdentityTokenInvalid' || status === 'BadUserSignatureInvalid') {
    return { cause: 'auth-failed', message: `the server refused the user identity (${status}): check the user name and password (or user certificate) in opcua.endpoints[].user` };
  }
  if (status === 'BadTooManySessions' || status === 'BadTooManyOperations') {
    return { cause: 'too-many-sessions', message: `the server has no room for another session (${status}); retrying` };
  }
  if (status === 'BadTooManySubscriptions' || status === 'BadServiceUnsupported' || status === 'BadNotSupported') {
    return { cause: 'no-subscriptions', message: `the server does not accept subscriptions (${status})` };
  }
  if (/Fail to connect to server at .*in findEndpoint/i.test(text)) {
    // node-opcua's words when the connection to fetch the server certificate (secured modes) fails.
    return { cause: 'unreachable', message: `cannot connect to ${hostPort}: is the server running and the port right?` };
  }
  if (sys === 'ECONNREFUSED') return { cause: 'unreachable', message: `connection refused at ${hostPort}: is the server running and the port right?` };
  if (sys === 'ENOTFOUND' || sys === 'EAI_AGAIN') return { cause: 'unreachable', message: `host name in ${ctx.url} does not resolve (${sys})` };
  if (sys === 'EHOSTUNREACH' || sys === 'ENETUNREACH') return { cause: 'unreachable', message: `no route to ${hostPort} (${sys}): check the cabinet network` };
  if (/may have been rejected by server/i.test(text)) {
    // node-opcua's words when the server hangs up during OpenSecureChannel: a certificate it does not trust.
    if (ctx.securityMode !== 'None') {
      return { cause: 'gateway-cert-rejected', message: `the server closed the connection during the secure handshake: it most likely does not trust the gateway's certificate: trust the gateway certificate on the server${ctx.ownCertificate ? ` (${ctx.ownCertificate})` : ''}; \`gridgate opcua cert\` shows it (or a firewall closes the connection)` };
    }
    return { cause: 'connection-lost', message: 'the connection was closed during the handshake (the server refused it, or a firewall closes it)' };
  }
  if (sys === 'ETIMEDOUT' || /timed? ?out|Timeout/i.test(text) || status === 'BadTimeout' || status === 'BadRequestTimeout') {
    return { cause: 'timeout', message: `${hostPort} did not answer in time` };
  }
  if (sys === 'ECONNRESET' || sys === 'EPIPE' || /Connection Break|socket has been disconnected|premature|closed/i.test(text) || status === 'BadConnectionClosed' || status === 'BadSessionIdInvalid' || status === 'BadSessionClosed' || status === 'BadSecureChannelClosed') {
    return { cause: 'connection-lost', message: `the connection was lost (${status ?? sys ?? firstLine(text)})` };
  }
  return { cause: 'other', message: firstLine(text) };
}

function firstLine(text: string): string {
  const l = text.split('\n').map((s) => s.trim()).filter(Boolean);
  return (l.find((s) => /^Err =/.test(s)) ?? l[0] ?? 'unknown error').slice(0, 300);
}
