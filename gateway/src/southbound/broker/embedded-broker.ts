import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../../config/schema.js';
import type { RawUplink, RejectReason } from '../../ingest/types.js';
import { readTlsFiles } from '../../util/tls.js';
import { deviceOfUpTopic, mayPublish, maySubscribe } from './acl.js';
import { derivedPassword, safeEqual, verifyPassword } from './credentials.js';
import { PacketSizeGuard } from './packet-guard.js';
import { TokenBucket } from './rate-limit.js';

type BrokerOptions = BrokerConfig;

export interface BrokerDeps {
  /** Password hash of a configured MQTT device, or null when configured without one; undefined when unknown. */
  credentialsOf(deviceId: string): { passwordHash?: string } | undefined;
  /** Hands one device uplink to the pipeline; `done` runs once it is durable, then the device gets its PUBACK. */
  accept(raw: RawUplink, done: (err?: Error) => void): void;
  /** Counts and logs a refused input. */
  reject(deviceId: string, reason: RejectReason, detail: string): void;
  onDeviceConnected?(deviceId: string, connected: boolean): void;
  log: Logger;
  now?: () => number;
}

interface DeviceClient extends Client {
  gridgateDevice?: string;
  gridgateBucket?: TokenBucket;
}

const AUTH_CACHE_MAX = 10_000;

/** The gateway's own MQTT broker for sensors on the cabinet LAN. */
export class EmbeddedBroker {
  readonly aedes: Aedes;
  private servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  /** deviceId → password already verified against its hash; reconnect storms must not cost a scrypt each. */
  private verified = new Map<string, string>();
  private readonly now: () => number;
  /** Device publishes settled in authorizePublish (taken in or refused): aedes must not route them. */
  private readonly handled = new WeakSet<object>();

  constructor(
    private readonly cfg: BrokerOptions,
    private readonly deps: BrokerDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.aedes = new Aedes({
      id: 'gridgate-embedded',
      maxClientsIdLength: 64,
      authenticate: (c, u, p, done) => this.authenticate(c as DeviceClient, u, p, done),
      authorizePublish: (c, packet, cb) => this.authorizePublish(c as DeviceClient | null, packet, cb),
      authorizeSubscribe: (c, sub, cb) => {
        const id = (c as DeviceClient).gridgateDevice;
        if (id && maySubscribe(id, sub.topic)) return cb(null, sub);
        deps.reject(id ?? c.id, 'acl-denied', `subscribe to "${sub.topic}" refused: a device may subscribe only to devices/${id}/cmd`);
        cb(null, null);
      },
      authorizeForward: (_c, packet) => (packet.topic.startsWith('devices/') && packet.topic.endsWith('/up') ? null : packet),
    });
    // Every publish from a device ends in authorizePublish: an uplink is handed to the pipeline there, anything
    // else is refused there. Aedes would still route it afterwards (retained store, offline queues, subscribers):
    // for a refused one that delivers it (a device could forge another's command), for an uplink it only costs
    // CPU (~10 % per message in bench:ingest). So aedes never routes what a device published.
    const route = this.aedes.publish.bind(this.aedes) as (packet: object, client: unknown, done?: (e?: Error | null) => void) => void;
    (this.aedes as unknown as { publish: typeof route }).publish = (packet, client, done) => {
      if (typeof client === 'function') return route(packet, client);
      if (this.handled.has(packet)) return done?.(null);
      route(packet, client, done);
    };
    this.aedes.on('clientReady', (c) => deps.onDeviceConnected?.((c as DeviceClient).gridgateDevice ?? c.id, true));
    this.aedes.on('clientDisconnect', (c) => deps.onDeviceConnected?.((c as DeviceClient).gridgateDevice ?? c.id, false));
    this.aedes.on('clientError', (c, err) => deps.log.debug({ client: c.id, err: err.message }, 'embedded broker: client error'));
    this.aedes.on('connectionError', (c, err) => deps.log.debug({ client: c?.id, err: err.message }, 'embedded broker: connection error'));
  }

  private authenticate(c: DeviceClient, username: string | undefined, password: Buffer | undefined, done: (e: AuthenticateError | null, ok: boolean | null) => void): void {
    const refuse = (id: string, why: string) => {
      this.deps.reject(id, 'auth-failed', why);
      const e = new Error(why) as AuthenticateError;
      e.returnCode = 4; // bad user name or password
      done(e, false);
    };
    if (!username) {
      if (!this.cfg.allowAnonymous) return refuse(c.id || '(anonymous)', 'anonymous clients are refused: connect with the device id as user name and its password');
      if (!this.deps.credentialsOf(c.id)) return refuse(c.id, `unknown device "${c.id}"`);
      c.gridgateDevice = c.id;
      return done(null, true);
    }
    const id = username;
    const creds = this.deps.credentialsOf(id);
    if (!creds) return refuse(id, `unknown device "${id}"`);
    const pw = password?.toString('utf8') ?? '';
    const accept = () => {
      c.gridgateDevice = id;
      done(null, true);
    };
    if (this.cfg.deviceKeySecret && safeEqual(pw, derivedPassword(this.cfg.deviceKeySecret, id))) return accept();
    if (!creds.passwordHash) return refuse(id, 'wrong password');
    const cached = this.verified.get(id);
    if (cached !== undefined && safeEqual(cached, pw)) return accept();
    verifyPassword(pw, creds.passwordHash).then(
      (ok) => {
        if (!ok) return refuse(id, 'wrong password');
        if (this.verified.size >= AUTH_CACHE_MAX) this.verified.clear();
        this.verified.set(id, pw);
        accept();
      },
      (e: Error) => refuse(id, `password check failed: ${e.message}`),
    );
  }

  private authorizePublish(c: DeviceClient | null, packet: { topic: string; payload: Buffer | string; retain: boolean }, cb: (e?: Error | null) => void): void {
    if (!c) return cb(null); // the broker's own will messages
    this.handled.add(packet);
    const id = c.gridgateDevice ?? c.id;
    packet.retain = false; // device uplinks are events, never retained state on our broker
    try {
      if (!mayPublish(id, packet.topic)) {
        this.deps.reject(id, 'acl-denied', `publish to "${packet.topic}" refused: device ${id} may publish only to devices/${id}/up`);
        return cb(null); // dropped (never routed, see the constructor); the device stays connected
      }
      const now = this.now();
      const bucket = (c.gridgateBucket ??= new TokenBucket(this.cfg.rateLimit.perSecond, this.cfg.rateLimit.burst, now));
      if (!bucket.take(now)) {
        this.deps.reject(id, 'rate-limited', `more than ${this.cfg.rateLimit.perSecond} msg/s (burst ${this.cfg.rateLimit.burst})`);
        return cb(null);
      }
      const deviceId = deviceOfUpTopic(packet.topic)!;
      const text = typeof packet.payload === 'string' ? packet.payload : packet.payload.toString('utf8');
      this.deps.accept({ deviceId, source: 'mqtt', receivedAt: now, content: { kind: 'json', text } }, (err) => cb(err ?? null));
    } catch (e) {
      // Nothing escapes into the broker: a bug here drops one message, loudly, and keeps the broker alive.
      this.deps.log.error({ device: id, err: (e as Error).message }, 'embedded broker: uplink handling failed');
      cb(null);
    }
  }

  /** Starts the configured listeners; resolves with their bound ports (0 in the config picks a free one). */
  async listen(): Promise<{ port?: number; tlsPort?: number }> {
    const out: { port?: number; tlsPort?: number } = {};
    await this.aedes.listen(); // aedes 1.x sets up its persistence here
    const handle = (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      if (this.aedes.connectedClients >= this.cfg.maxClients) return socket.destroy();
      // aedes takes what it parses with socket.read(): the guard sees those bytes first, in the same call.
      const guard = new PacketSizeGuard(this.cfg.maxPacketBytes);
      const read = socket.read.bind(socket);
      socket.read = (n?: number) => {
        const chunk = read(n) as Buffer | null;
        const tooLarge = chunk ? guard.scan(chunk) : 0;
        if (!tooLarge) return chunk;
        this.deps.log.warn({ remote: socket.remoteAddress, bytes: tooLarge, limit: this.cfg.maxPacketBytes }, 'embedded broker: packet too large, connection closed');
        socket.destroy();
        return null;
      };
      this.aedes.handle(socket);
    };
    if (this.cfg.plain) {
      const s = createNetServer(handle);
      out.port = await listenOn(s, this.cfg.port, this.cfg.host);
      this.servers.push(s);
    }
    if (this.cfg.tls) {
      const t = this.cfg.tls;
      const files = readTlsFiles(t);
      const s = createTlsServer({ cert: files.cert, key: files.key, ca: files.ca, requestCert: t.requireClientCert, rejectUnauthorized: t.requireClientCert, minVersion: 'TLSv1.2' }, handle);
      out.tlsPort = await listenOn(s, t.port, t.host ?? this.cfg.host);
      this.servers.push(s);
    }
    return out;
  }

  async close(): Promise<void> {
    // Stop accepting first, then let aedes disconnect its clients: a server's close callback waits for
    // every open connection, so waiting on it before the clients are gone would never return.
    const closed = this.servers.map((s) => new Promise<void>((res) => s.close(() => res())));
    await new Promise<void>((res) => this.aedes.close(() => res()));
    for (const sock of this.sockets) sock.destroy();
    await Promise.all(closed);
  }
}

function listenOn(s: Server, port: number, host: string): Promise<number> {
  return new Promise((res, rej) => {
    s.once('error', rej);
    s.listen(port, host, () => {
      s.off('error', rej);
      const a = s.address();
      res(typeof a === 'object' && a ? a.port : port);
    });
  });
}
