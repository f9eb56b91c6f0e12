import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiscoveryResponder, escapeXml, tagText } from '../../src/southbound/cameras/onvif/ws-discovery.js';

/** What the simulated camera says about itself and its one stream. */
export interface VirtualOnvifOptions {
  host: string;
  /** HTTP port of the device and media services (0: any free port). */
  port: number;
  /** Address put into XAddrs and URIs (default: host, or 127.0.0.1 when host is 0.0.0.0). */
  advertiseHost?: string;
  rtspUrl: string;
  stream: { width: number; height: number; fps: number };
  /** Grabs one JPEG of the stream (for GetSnapshotUri). */
  snapshot?: () => Promise<Buffer>;
  username?: string;
  password?: string;
  /** How the camera checks credentials: WS-Security UsernameToken (default, most cameras) or HTTP digest. */
  auth?: 'ws-security' | 'digest';
  identity?: { manufacturer?: string; model?: string; serial?: string; firmware?: string; name?: string };
  discovery?: { host?: string; port?: number; multicast?: boolean } | false;
}

const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  ter: 'http://www.onvif.org/ver10/error',
};
const REALM = 'GridGate Virtual Camera';
const DEVICE_PATH = '/onvif/device_service';
const MEDIA_PATH = '/onvif/media_service';
const SNAPSHOT_PATH = '/onvif/snapshot.jpg';

/**
 * An ONVIF Profile S device simulator for tests, demos and field training: a WS-Discovery responder and the
 * Device and Media SOAP services (GetSystemDateAndTime, GetCapabilities, GetServices, GetDeviceInformation,
 * GetProfiles, GetVideoSources, GetStreamUri, GetSnapshotUri) answering with one RTSP stream. Credentials are
 * checked as a camera does: WS-Security PasswordDigest or HTTP digest; only GetSystemDateAndTime is open.
 */
export class VirtualOnvifDevice {
  private server?: Server;
  private responder?: DiscoveryResponder;
  readonly endpoint = `urn:uuid:${randomUUID()}`;
  port = 0;
  private readonly nonces = new Set<string>();

  constructor(private readonly o: VirtualOnvifOptions) {}

  get advertiseHost(): string {
    return this.o.advertiseHost ?? (this.o.host === '0.0.0.0' || this.o.host === '::' ? '127.0.0.1' : this.o.host);
  }

  get xaddr(): string {
    return `http://${this.advertiseHost}:${this.port}${DEVICE_PATH}`;
  }

  get discoveryPort(): number | undefined {
    return this.responder?.port;
  }

  get discoveryJoined(): boolean {
    return this.responder?.joined ?? false;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((res, rej) => {
      this.server!.once('error', rej);
      this.server!.listen(this.o.port, this.o.host, () => res());
    });
    this.port = (this.server.address() as AddressInfo).port;
    if (this.o.discovery !== false) {
      const id = this.o.identity ?? {};
      this.responder = new DiscoveryResponder({
        endpoint: this.endpoint,
        xaddrs: () => [this.xaddr],
        scopes: [
          'onvif://www.onvif.org/type/video_encoder',
          'onvif://www.onvif.org/Profile/Streaming',
          `onvif://www.onvif.org/name/${encodeURIComponent(id.name ?? 'GridGate Virtual Camera')}`,
          `onvif://www.onvif.org/hardware/${encodeURIComponent(id.model ?? 'VC-1')}`,
        ],
        host: this.o.discovery?.host ?? this.o.host,
        ...(this.o.discovery?.port !== undefined && { port: this.o.discovery.port }),
        ...(this.o.discovery?.multicast !== undefined && { multicast: this.o.discovery.multicast }),
      });
      await this.responder.start();
    }
  }

  async stop(): Promise<void> {
    await this.responder?.stop();
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((res) => s.close(() => res()));
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && url === SNAPSHOT_PATH) return await this.snapshot(req, res);
      if (req.method !== 'POST' || (url !== DEVICE_PATH && url !== MEDIA_PATH)) {
        res.writeHead(404).end();
        return;
      }
      const body = await readBody(req);
      const action = /<(?:[\w.-]+:)?Body[^>]*>\s*<(?:[\w.-]+:)?(\w+)/.exec(body)?.[1];
      if (!action) return soap(res, 400, fault('env:Sender', 'ter:WellFormed', 'no action in the SOAP body'));
      if (action !== 'GetSystemDateAndTime' && !this.authorized(req, res, body)) return;
      const answer = this.answer(action, body);
      if (!answer) return soap(res, 400, fault('env:Sender', 'ter:ActionNotSupported', `${action} is not supported by this simulator`));
      soap(res, 200, answer);
    } catch (e) {
      if (!res.headersSent) soap(res, 500, fault('env:Receiver', 'ter:Action', (e as Error).message));
    }
  }

  /** WS-Security UsernameToken digest or HTTP digest, as configured; answers the refusal itself. */
  private authorized(req: IncomingMessage, res: ServerResponse, body: string): boolean {
    const { username, password } = this.o;
    if (!username || !password) return true;
    if ((this.o.auth ?? 'ws-security') === 'digest') {
      if (this.digestOk(req, username, password)) return true;
      this.challenge(res);
      return false;
    }
    const user = tagText(body, 'Username');
    const digest = tagText(body, 'Password');
    const nonce = tagText(body, 'Nonce');
    const created = tagText(body, 'Created');
    if (user === username && digest && nonce && created) {
      const expected = createHash('sha1')
        .update(Buffer.concat([Buffer.from(nonce, 'base64'), Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
        .digest('base64');
      if (safeEqual(expected, digest)) return true;
    }
    soap(res, 400, fault('env:Sender', 'ter:NotAuthorized', 'Sender not Authorized'));
    return false;
  }

  private challenge(res: ServerResponse): void {
    const nonce = randomBytes(16).toString('hex');
    this.nonces.add(nonce);
    if (this.nonces.size > 1000) this.nonces.delete(this.nonces.values().next().value!);
    res.writeHead(401, { 'WWW-Authenticate': `Digest realm="${REALM}", qop="auth", nonce="${nonce}", algorithm=MD5`, 'Content-Type': 'text/plain' }).end('401 Unauthorized');
  }

  private digestOk(req: IncomingMessage, username: string, password: string): boolean {
    const h = req.headers.authorization;
    if (!h?.startsWith('Digest ')) return false;
    const p: Record<string, string> = {};
    for (const m of h.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) p[m[1]!] = m[2] ?? m[3] ?? '';
    if (p.username !== username || p.realm !== REALM || !p.nonce || !this.nonces.has(p.nonce)) return false;
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const ha1 = md5(`${username}:${REALM}:${password}`);
    const ha2 = md5(`${req.method}:${p.uri}`);
    const expected = p.qop ? md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`) : md5(`${ha1}:${p.nonce}:${ha2}`);
    return safeEqual(expected, p.response ?? '');
  }

  private async snapshot(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { username, password } = this.o;
    if (username && password && !this.digestOk(req, username, password)) return this.challenge(res);
    if (!this.o.snapshot) {
      res.writeHead(404).end();
      return;
    }
    const jpeg = await this.o.snapshot();
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length }).end(jpeg);
  }

  private answer(action: string, body: string): string | undefined {
    const base = `http://${this.advertiseHost}:${this.port}`;
    const id = this.o.identity ?? {};
    const { width, height, fps } = this.o.stream;
    const version = `<tt:Major>2</tt:Major><tt:Minor>60</tt:Minor>`;
    switch (action) {
      case 'GetSystemDateAndTime': {
        const d = new Date();
        return (
          `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>` +
          `<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime><tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time>` +
          `<tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`
        );
      }
      case 'GetCapabilities':
        return (
          `<tds:GetCapabilitiesResponse><tds:Capabilities>` +
          `<tt:Device><tt:XAddr>${base}${DEVICE_PATH}</tt:XAddr></tt:Device>` +
          `<tt:Media><tt:XAddr>${base}${MEDIA_PATH}</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>` +
          `</tds:Capabilities></tds:GetCapabilitiesResponse>`
        );
      case 'GetServices':
        return (
          `<tds:GetServicesResponse>` +
          `<tds:Service><tds:Namespace>${NS.tds}</tds:Namespace><tds:XAddr>${base}${DEVICE_PATH}</tds:XAddr><tds:Version>${version}</tds:Version></tds:Service>` +
          `<tds:Service><tds:Namespace>${NS.trt}</tds:Namespace><tds:XAddr>${base}${MEDIA_PATH}</tds:XAddr><tds:Version>${version}</tds:Version></tds:Service>` +
          `</tds:GetServicesResponse>`
        );
      case 'GetDeviceInformation':
        return (
          `<tds:GetDeviceInformationResponse><tds:Manufacturer>${escapeXml(id.manufacturer ?? 'GridGate')}</tds:Manufacturer><tds:Model>${escapeXml(id.model ?? 'VC-1')}</tds:Model>` +
          `<tds:FirmwareVersion>${escapeXml(id.firmware ?? '1.0.3')}</tds:FirmwareVersion><tds:SerialNumber>${escapeXml(id.serial ?? 'VC0001')}</tds:SerialNumber><tds:HardwareId>virtual</tds:HardwareId></tds:GetDeviceInformationResponse>`
        );
      case 'GetScopes':
        return `<tds:GetScopesResponse><tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>onvif://www.onvif.org/Profile/Streaming</tt:ScopeItem></tds:Scopes></tds:GetScopesResponse>`;
      case 'GetProfiles':
        return `<trt:GetProfilesResponse>${this.profileXml('Profiles')}</trt:GetProfilesResponse>`;
      case 'GetProfile':
        return `<trt:GetProfileResponse>${this.profileXml('Profile')}</trt:GetProfileResponse>`;
      case 'GetVideoSources':
        return `<trt:GetVideoSourcesResponse><trt:VideoSources token="vs0"><tt:Framerate>${fps}</tt:Framerate><tt:Resolution><tt:Width>${width}</tt:Width><tt:Height>${height}</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>`;
      case 'GetStreamUri': {
        const token = tagText(body, 'ProfileToken');
        if (token && token !== 'main') return undefined;
        return `<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>${escapeXml(this.o.rtspUrl)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>`;
      }
      case 'GetSnapshotUri':
        return `<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>${base}${SNAPSHOT_PATH}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetSnapshotUriResponse>`;
      default:
        return undefined;
    }
  }

  private profileXml(tag: string): string {
    const { width, height, fps } = this.o.stream;
    return (
      `<trt:${tag} token="main" fixed="true"><tt:Name>main</tt:Name>` +
      `<tt:VideoSourceConfiguration token="vsc0"><tt:Name>vsc0</tt:Name><tt:UseCount>1</tt:UseCount><tt:SourceToken>vs0</tt:SourceToken><tt:Bounds x="0" y="0" width="${width}" height="${height}"/></tt:VideoSourceConfiguration>` +
      `<tt:VideoEncoderConfiguration token="vec0"><tt:Name>vec0</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>` +
      `<tt:Resolution><tt:Width>${width}</tt:Width><tt:Height>${height}</tt:Height></tt:Resolution><tt:Quality>5</tt:Quality>` +
      `<tt:RateControl><tt:FrameRateLimit>${fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>1000</tt:BitrateLimit></tt:RateControl>` +
      `<tt:H264><tt:GovLength>${2 * fps}</tt:GovLength><tt:H264Profile>Baseline</tt:H264Profile></tt:H264><tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>` +
      `</trt:${tag}>`
    );
  }
}

function soap(res: ServerResponse, status: number, inner: string): void {
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="${NS.soap}" xmlns:tds="${NS.tds}" xmlns:trt="${NS.trt}" xmlns:tt="${NS.tt}" xmlns:ter="${NS.ter}">` +
    `<env:Body>${inner}</env:Body></env:Envelope>`;
  res.writeHead(status, { 'Content-Type': 'application/soap+xml; charset=utf-8' }).end(xml);
}

function fault(code: string, subcode: string, reason: string): string {
  return (
    `<env:Fault><env:Code><env:Value>${code}</env:Value><env:Subcode><env:Value>${subcode}</env:Value></env:Subcode></env:Code>` +
    `<env:Reason><env:Text xml:lang="en">${escapeXml(reason)}</env:Text></env:Reason></env:Fault>`
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > 1 << 20) req.destroy(new Error('request too large'));
      else chunks.push(c);
    });
    req.on('end', () => res(Buffer.concat(chunks).toString('utf8')));
    req.on('error', rej);
  });
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
