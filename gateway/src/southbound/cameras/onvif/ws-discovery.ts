import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

// WS-Discovery (the 2005/04 draft ONVIF uses): a Probe for NetworkVideoTransmitter sent to the multicast group,
// ProbeMatches answered by unicast. Our own small implementation rather than the onvif package's Discovery
// singleton, because the target address must be configurable: tests talk to a simulator on loopback, and a
// cabinet with two networks must choose the camera LAN's interface.

export const WS_DISCOVERY_ADDRESS = '239.255.255.250';
export const WS_DISCOVERY_PORT = 3702;

const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsd: 'http://schemas.xmlsoap.org/ws/2005/04/discovery',
  dn: 'http://www.onvif.org/ver10/network/wsdl',
};
const ACTION = { probe: `${NS.wsd}/Probe`, probeMatches: `${NS.wsd}/ProbeMatches` };

export interface ProbeMatch {
  /** Endpoint reference (urn:uuid:…): the device's stable identity. */
  endpoint: string;
  /** Device service addresses (http://…/onvif/device_service). */
  xaddrs: string[];
  types: string[];
  scopes: string[];
  /** Who answered (the UDP source). */
  from: string;
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+);/g, (_m, e: string) =>
    e.startsWith('#') ? String.fromCharCode(Number(e.slice(1))) : ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e]!,
  );
}

/** Text of the first element with this local name (any namespace prefix), or undefined. */
export function tagText(xml: string, name: string): string | undefined {
  const m = new RegExp(`<(?:[\\w.-]+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w.-]+:)?${name}>`).exec(xml);
  return m ? unescapeXml(m[1]!.trim()) : undefined;
}

/** Inner XML of every element with this local name. */
export function tagBlocks(xml: string, name: string): string[] {
  const re = new RegExp(`<(?:[\\w.-]+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w.-]+:)?${name}>`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1]!);
}

export function probeMessage(messageId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.wsa}" xmlns:d="${NS.wsd}" xmlns:dn="${NS.dn}">` +
    `<s:Header><a:Action s:mustUnderstand="1">${ACTION.probe}</a:Action><a:MessageID>${messageId}</a:MessageID>` +
    `<a:ReplyTo><a:Address>${NS.wsa}/role/anonymous</a:Address></a:ReplyTo><a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>` +
    `<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>`
  );
}

export function probeMatchesMessage(relatesTo: string, m: { endpoint: string; xaddrs: string[]; scopes: string[] }): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.wsa}" xmlns:d="${NS.wsd}" xmlns:dn="${NS.dn}">` +
    `<s:Header><a:MessageID>urn:uuid:${randomUUID()}</a:MessageID><a:RelatesTo>${escapeXml(relatesTo)}</a:RelatesTo>` +
    `<a:To>${NS.wsa}/role/anonymous</a:To><a:Action>${ACTION.probeMatches}</a:Action></s:Header>` +
    `<s:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>${escapeXml(m.endpoint)}</a:Address></a:EndpointReference>` +
    `<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>${m.scopes.map(escapeXml).join(' ')}</d:Scopes>` +
    `<d:XAddrs>${m.xaddrs.map(escapeXml).join(' ')}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`
  );
}

/** The matches in a ProbeMatches message that answers `messageId` (others are ignored). */
export function parseProbeMatches(xml: string, messageId: string | undefined, from: string): ProbeMatch[] {
  if (messageId && tagText(xml, 'RelatesTo') !== messageId) return [];
  const words = (s: string | undefined) => (s ?? '').split(/\s+/).filter(Boolean);
  return tagBlocks(xml, 'ProbeMatch').flatMap((block) => {
    const xaddrs = words(tagText(block, 'XAddrs')).filter((u) => /^https?:\/\//.test(u));
    if (!xaddrs.length) return [];
    return [{ endpoint: tagText(tagText(block, 'EndpointReference') ?? '', 'Address') ?? xaddrs[0]!, xaddrs, types: words(tagText(block, 'Types')), scopes: words(tagText(block, 'Scopes')), from }];
  });
}

/** A scope's value, e.g. scopeValue(scopes, 'name') for onvif://www.onvif.org/name/Front%20Gate. */
export function scopeValue(scopes: readonly string[], key: string): string | undefined {
  const prefix = `onvif://www.onvif.org/${key}/`;
  const s = scopes.find((x) => x.startsWith(prefix));
  if (!s) return undefined;
  try {
    return decodeURIComponent(s.slice(prefix.length));
  } catch {
    return s.slice(prefix.length);
  }
}

export interface ProbeOptions {
  timeoutMs: number;
  /** Where the probe goes: the multicast group by default; a unicast address reaches one device (or a simulator). */
  address?: string;
  port?: number;
  /** Local address of the interface to send multicast from (a cabinet with several networks). */
  interface?: string;
}

/** Sends a Probe (twice, UDP may drop one) and collects ProbeMatches until the timeout, one entry per device. */
export function probe(o: ProbeOptions): Promise<ProbeMatch[]> {
  const messageId = `urn:uuid:${randomUUID()}`;
  const msg = Buffer.from(probeMessage(messageId));
  const address = o.address ?? WS_DISCOVERY_ADDRESS;
  const port = o.port ?? WS_DISCOVERY_PORT;
  return new Promise((resolve, reject) => {
    const sock: Socket = createSocket({ type: 'udp4', reuseAddr: true });
    const found = new Map<string, ProbeMatch>();
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const finish = (err?: Error) => {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve([...found.values()]);
    };
    sock.on('error', (e) => finish(new Error(`WS-Discovery probe to ${address}:${port} failed: ${e.message}`)));
    sock.on('message', (buf, rinfo) => {
      for (const m of parseProbeMatches(buf.toString('utf8'), messageId, rinfo.address)) if (!found.has(m.endpoint)) found.set(m.endpoint, m);
    });
    sock.bind(0, () => {
      try {
        if (o.interface) sock.setMulticastInterface(o.interface);
        sock.setMulticastTTL(1);
      } catch (e) {
        finish(new Error(`cannot use interface ${o.interface}: ${(e as Error).message}`));
        return;
      }
      const send = () => !closed && sock.send(msg, port, address, (err) => err && finish(new Error(`WS-Discovery probe to ${address}:${port} failed: ${err.message}`)));
      send();
      setTimeout(send, Math.min(200, o.timeoutMs / 4)).unref();
      timer = setTimeout(() => finish(), o.timeoutMs);
    });
  });
}

export interface ResponderOptions {
  endpoint: string;
  xaddrs: () => string[];
  scopes: string[];
  /** Bind address and port: 0.0.0.0:3702 joined to the multicast group on a LAN; loopback and any port in tests. */
  host?: string;
  port?: number;
  multicast?: boolean;
}

/** Answers WS-Discovery probes for one device (the ONVIF simulator). */
export class DiscoveryResponder {
  private sock?: Socket;
  port = 0;
  joined = false;

  constructor(private readonly o: ResponderOptions) {}

  async start(): Promise<void> {
    const sock = createSocket({ type: 'udp4', reuseAddr: true });
    this.sock = sock;
    await new Promise<void>((res, rej) => {
      sock.once('error', rej);
      sock.bind(this.o.port ?? WS_DISCOVERY_PORT, this.o.host ?? '0.0.0.0', () => {
        sock.off('error', rej);
        res();
      });
    });
    this.port = sock.address().port;
    if (this.o.multicast !== false) {
      try {
        sock.addMembership(WS_DISCOVERY_ADDRESS);
        this.joined = true;
      } catch {
        this.joined = false; // no multicast route: unicast probes still work
      }
    }
    sock.on('error', () => {});
    sock.on('message', (buf, rinfo) => {
      const xml = buf.toString('utf8');
      if (!tagText(xml, 'Action')?.endsWith('/Probe')) return;
      const types = tagText(xml, 'Types') ?? '';
      if (types && !/NetworkVideoTransmitter|Device/.test(types)) return;
      const id = tagText(xml, 'MessageID');
      if (!id) return;
      const reply = Buffer.from(probeMatchesMessage(id, { endpoint: this.o.endpoint, xaddrs: this.o.xaddrs(), scopes: this.o.scopes }));
      sock.send(reply, rinfo.port, rinfo.address);
    });
  }

  async stop(): Promise<void> {
    const s = this.sock;
    this.sock = undefined;
    if (s) await new Promise<void>((res) => s.close(() => res()));
  }
}
