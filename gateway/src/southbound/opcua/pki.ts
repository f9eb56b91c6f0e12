import { existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { exploreCertificate, makeSHA1Thumbprint, readCertificate, split_der } from 'node-opcua-crypto';
import { OWN_CERT } from './config.js';

// The gateway's OPC-UA certificate store (node-opcua's PKI layout): own/ (the gateway's application
// certificate and key), trusted/certs (server certificates an engineer trusted), rejected/ (server
// certificates seen and refused; `gridgate opcua trust` moves one to trusted).


export interface CertInfo {
  thumbprint: string;
  subject: string;
  issuer: string;
  applicationUri?: string;
  notBefore: Date;
  notAfter: Date;
  selfSigned: boolean;
}

/** The first certificate of a DER chain, described. */
export function certInfo(der: Buffer): CertInfo {
  const leaf = split_der(der)[0] ?? der;
  const tbs = exploreCertificate(leaf).tbsCertificate;
  const cn = (n: { commonName?: string; organizationName?: string }) => n.commonName ?? n.organizationName ?? '?';
  const uri = tbs.extensions?.subjectAltName?.uniformResourceIdentifier?.[0];
  return {
    thumbprint: makeSHA1Thumbprint(leaf).toString('hex'),
    subject: cn(tbs.subject),
    issuer: cn(tbs.issuer),
    ...(uri && { applicationUri: uri }),
    notBefore: tbs.validity.notBefore,
    notAfter: tbs.validity.notAfter,
    selfSigned: JSON.stringify(tbs.subject) === JSON.stringify(tbs.issuer),
  };
}

export function describeCert(c: CertInfo, now = Date.now()): string {
  const state = c.notAfter.getTime() < now ? 'EXPIRED' : c.notBefore.getTime() > now ? 'NOT YET VALID' : 'valid';
  return `"${c.subject}"${c.selfSigned ? ' (self-signed)' : `, issued by "${c.issuer}"`}, ${state} ${c.notBefore.toISOString().slice(0, 10)} → ${c.notAfter.toISOString().slice(0, 10)}, SHA-1 thumbprint ${c.thumbprint}${c.applicationUri ? `, ${c.applicationUri}` : ''}`;
}

/**
 * A certificate manager over the folder. A fresh one per connection attempt: node-opcua disposes it
 * on disconnect, and a fresh one reads the trust list again (a certificate trusted meanwhile counts).
 */
export async function openPki(dir: string): Promise<OPCUACertificateManager> {
  const cm = new OPCUACertificateManager({ rootFolder: dir, automaticallyAcceptUnknownCertificate: false, disableFileWatchers: true, keySize: 2048 });
  await cm.initialize();
  return cm;
}

/** The gateway's application certificate: created on first use (10 years, self-signed), then reused. */
export async function ensureOwnCertificate(dir: string, applicationName: string, applicationUri: string): Promise<{ file: string; keyFile: string; info: CertInfo; created: boolean }> {
  const file = join(dir, OWN_CERT);
  const cm = await openPki(dir);
  let created = false;
  try {
    if (!existsSync(file)) {
      const host = hostname();
      await cm.createSelfSignedCertificate({
        applicationUri,
        dns: [host],
        outputFile: file,
        subject: `/CN=${applicationName}@${host}/O=GridGate`,
        startDate: new Date(Date.now() - 60_000), // a server clock a little behind still accepts it
        validity: 3650,
      });
      created = true;
    }
    return { file, keyFile: cm.privateKey, info: certInfo(readCertificate(file)), created };
  } finally {
    await cm.dispose();
  }
}

/** Puts a server certificate (DER, chain allowed) into trusted/certs, taking it out of rejected/. */
export async function trustCertificate(dir: string, der: Buffer): Promise<void> {
  const cm = await openPki(dir);
  try {
    await cm.trustCertificate(der);
  } finally {
    await cm.dispose();
  }
}

export function listCertificates(dir: string, which: 'trusted' | 'rejected'): Array<{ file: string; info: CertInfo }> {
  const folder = join(dir, which === 'trusted' ? 'trusted/certs' : 'rejected');
  let names: string[] = [];
  try {
    names = readdirSync(folder).filter((n) => /\.(pem|der|crt)$/i.test(n));
  } catch {
    return [];
  }
  return names.map((n) => ({ file: join(folder, n), info: certInfo(readCertificate(join(folder, n))) }));
}
