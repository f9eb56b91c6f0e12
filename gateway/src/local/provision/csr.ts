import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { bits, context, nul, octets, oid, printable, seq, set, utf8, int } from './der.js';

export type KeyType = 'ec' | 'rsa';

export interface CsrSubject {
  /** Common name: the gateway id (central brokers map it to the MQTT username, e.g. mosquitto use_identity_as_username). */
  cn: string;
  o?: string;
  ou?: string;
  /** Two-letter country code. */
  c?: string;
}

const OID = {
  cn: '2.5.4.3',
  o: '2.5.4.10',
  ou: '2.5.4.11',
  c: '2.5.4.6',
  extensionRequest: '1.2.840.113549.1.9.14',
  extKeyUsage: '2.5.29.37',
  keyUsage: '2.5.29.15',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
};

function name(s: CsrSubject): Buffer {
  const rdn = (type: string, value: Buffer) => set(seq(oid(type), value));
  return seq(
    ...(s.c ? [rdn(OID.c, printable(s.c))] : []),
    ...(s.o ? [rdn(OID.o, utf8(s.o))] : []),
    ...(s.ou ? [rdn(OID.ou, utf8(s.ou))] : []),
    rdn(OID.cn, utf8(s.cn)),
  );
}

/** The private key for the uplink: EC P-256 (default; small and fast on a Pi) or RSA 2048. */
export function generateKey(type: KeyType = 'ec'): KeyObject {
  return type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey : generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
}

/**
 * A PKCS#10 certificate request (PEM) for a TLS client certificate: the subject, the public key, and an
 * extension request for client authentication, signed with the private key (SHA-256).
 */
export function certificateRequest(key: KeyObject, subject: CsrSubject): string {
  if (!subject.cn || subject.cn.length > 64) throw new Error('the common name has 1 to 64 characters');
  if (subject.c && !/^[A-Z]{2}$/.test(subject.c)) throw new Error('the country is a two-letter code, e.g. CN');
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  // keyUsage digitalSignature (+ keyEncipherment for RSA), extKeyUsage clientAuth; both critical=false.
  const ku = key.asymmetricKeyType === 'rsa' ? Buffer.from([0x03, 0x02, 0x05, 0xa0]) : Buffer.from([0x03, 0x02, 0x07, 0x80]);
  const extensions = seq(seq(oid(OID.keyUsage), octets(ku)), seq(oid(OID.extKeyUsage), octets(seq(oid(OID.clientAuth)))));
  const info = seq(int(0), name(subject), spki, context(0, seq(oid(OID.extensionRequest), set(extensions))));
  const isEc = key.asymmetricKeyType === 'ec';
  const signature = sign('sha256', info, isEc ? { key, dsaEncoding: 'der' } : key);
  const algorithm = isEc ? seq(oid(OID.ecdsaWithSha256)) : seq(oid(OID.sha256WithRsa), nul());
  const der = seq(info, algorithm, bits(signature));
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}-----END CERTIFICATE REQUEST-----\n`;
}
