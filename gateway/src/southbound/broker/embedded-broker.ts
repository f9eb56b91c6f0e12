import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { BrokerConfig } from './config.js';
import type { RejectReason } from '../../model/readings.js';
import type { Source, SourceDeps } from '../source.js';
import { UNKNOWN_SOURCE } from '../rejects.js';
import { capText } from '../../util/cap.js';
import { LogBudget } from '../../util/log-budget.js';
import { readTlsFiles } from '../../util/tls.js';
import { clientIdProblem, deviceOfUpTopic, mayPublish, maySubscribe, MAX_CLIENT_ID_CHARS, MAX_DEVICE_ID_CHARS } from './acl.js';
import { derivedPassword, safeEqual, verifyPassword } from './credentials.js';
import { LoginGuard } from './login-guard.js';
import { PacketSizeGuard } from './packet-guard.js';
import { TokenBucket } from './rate-limit.js';

type BrokerOptions = BrokerConfig;

/** A device gets its PUBACK once `accept` calls back (the uplink is durable). */
export interface BrokerDeps extends Pick<SourceDeps, 'accept' | 'reject' | 'log'> {
  /** Password hash of a configured MQTT device, or null when configured without one; undefined when unknown. */
  credentialsOf(deviceId: string): { passwordHash?: string } | undefined;
  onDeviceConnected?(deviceId: string, connected: boolean): void;
  now?: () => number;
}

interface DeviceClient extends Client {
  gridgateDevice?: string;
  /** Uplinks handed to the pipeline and not yet acknowledged. */
  gridgatePending?: number;
  /** Over the rate limit with a QoS 1/2 message: nothing more is taken in, the connection closes. */
  gridgateCutOff?: boolean;
}

type ReturnCode = 2 | 3 | 4 | 5; // identifier rejected, server unavailable, bad user name or password, not authorized

const AUTH_CACHE_MAX = 10_000;
/** Logins waiting for a password check beyond those running: more are refused at once ("server unavailable"). */
const MAX_WAITING_CHECKS = 16;
const MINUTE_MS = 60_000;
/** How long a cut-off connection may wait for its pending PUBACKs before it is closed anyway. */
const CUT_OFF_GRACE_MS = 10_000;
/** "Packet too large" lines per minute: each costs the sender one TCP connection, the log a line. */
const TOO_LARGE_LINES_PER_MINUTE = 20;

/** The gateway's own MQTT broker for sensors on the cabinet LAN. */
export class EmbeddedBroker implements Source {
  readonly aedes: Aedes;
  private servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  /** deviceId → password already verified against its hash; reconnect storms must not cost a scrypt each. */
  private verified = new Map<string, string>();
  private readonly now: () => number;
  /** Device publishes settled in authorizePublish (taken in or refused): aedes must not route them. */
  private readonly handled = new WeakSet<object>();
  /** Rate limit per device id, over all its connections and reconnects (keys: authenticated, configured ids). */
  private readonly buckets = new Map<string, TokenBucket>();
  /** Connections admitted per device (until their socket closes), for broker.maxConnectionsPerDevice. */
  private readonly live = new Map<string, Set<DeviceClient>>();
  private readonly logins: LoginGuard;
  private summaryTimer?: NodeJS.Timeout;
  private readonly tooLarge = new LogBudget(TOO_LARGE_LINES_PER_MINUTE, MINUTE_MS);

  constructor(
    private readonly cfg: BrokerOptions,
    private readonly deps: BrokerDeps,
  ) {
    this.now = deps.now ?? Date.now;
    const l = cfg.login;
    this.logins = new LoginGuard({ freeFailures: l.freeFailures, maxBackoffMs: l.maxBackoffS * 1000, concurrentChecks: l.concurrentChecks, maxWaiting: MAX_WAITING_CHECKS }, () => this.now());
    this.aedes = new Aedes({
      id: 'gridgate-embedded',
      maxClientsIdLength: MAX_CLIENT_ID_CHARS, // aedes checks it for MQTT 3.1 only; authenticate does for 3.1.1
      preConnect: (c, packet, cb) => {
        this.preConnect(c, packet);
        cb(null, true);
      },
      authenticate: (c, u, p, done) => {
        this.authenticate(c as DeviceClient, u, p, done).catch((e: Error) => {
          // Nothing escapes into aedes: a bug here refuses one login, loudly.
          deps.log.error({ err: e.message }, 'embedded broker: login handling failed');
          done(Object.assign(new Error('login handling failed'), { returnCode: 3 as const }), false);
        });
      },
      authorizePublish: (c, packet, cb) => this.authorizePublish(c as DeviceClient | null, packet, cb),
      authorizeSubscribe: (c, sub, cb) => {
        const id = (c as DeviceClient).gridgateDevice;
        if (id && maySubscribe(id, sub.topic)) return cb(null, sub);
        deps.reject(id ?? c.id, 'acl-denied', `subscribe to "${capText(sub.topic)}" refused: a device may subscribe only to devices/${id}/cmd`);
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
    this.aedes.on('clientError', (c, err) => deps.log.debug({ client: capText(c.id ?? ''), err: capText(err.message, 200) }, 'embedded broker: client error'));
    this.aedes.on('connectionError', (c, err) => deps.log.debug({ client: capText(c?.id ?? ''), err: capText(err.message, 200) }, 'embedded broker: connection error'));
  }

  /** Before aedes looks at a CONNECT: names why it will refuse an MQTT 5 client, and maps an empty client id. */
  private preConnect(c: Client, packet: { protocolVersion?: number; clientId: string; username?: string }): void {
    const v = packet.protocolVersion;
    if (v !== 3 && v !== 4) {
      // aedes answers "unacceptable protocol version" (return code 1); the log says what to change.
      const who = packet.username ? `user "${capText(packet.username)}"` : `client "${capText(packet.clientId)}"`;
      this.deps.reject(UNKNOWN_SOURCE, 'connect-refused', `${v === 5 ? 'MQTT 5' : `MQTT protocol level ${v}`} from ${addressOf(c)} (${who}) refused: the embedded broker speaks MQTT 3.1.1 only; set the device to MQTT 3.1.1 (protocol level 4)`);
      return;
    }
    // MQTT 3.1.1 lets a client leave its id to the server: it gets the device id, so it can be neither taken over nor take over.
    if (!packet.clientId && packet.username) packet.clientId = packet.username;
  }

  private async authenticate(c: DeviceClient, username: string | undefined, password: Buffer | undefined, done: (e: AuthenticateError | null, ok: boolean | null) => void): Promise<void> {
    const address = addressOf(c);
    const refuse = (key: string, reason: RejectReason, why: string, returnCode: ReturnCode) => {
      this.deps.reject(key, reason, why);
      const e = new Error(why) as AuthenticateError;
      e.returnCode = returnCode;
      done(e, false);
    };
    if (username && username.length > MAX_DEVICE_ID_CHARS) return refuse(UNKNOWN_SOURCE, 'connect-refused', `user name of ${username.length} characters ("${capText(username, 32)}") from ${address}: a device id has at most ${MAX_DEVICE_ID_CHARS}`, 4);
    if (c.id.length > MAX_CLIENT_ID_CHARS) return refuse(UNKNOWN_SOURCE, 'connect-refused', `client id of ${c.id.length} characters ("${capText(c.id, 32)}") from ${address}: at most ${MAX_CLIENT_ID_CHARS}`, 2);
    if (!username) {
      if (!this.cfg.allowAnonymous) return refuse(UNKNOWN_SOURCE, 'auth-failed', `anonymous client "${capText(c.id)}" from ${address} refused: connect with the device id as user name and its password`, 4);
      if (!this.deps.credentialsOf(c.id)) return refuse(UNKNOWN_SOURCE, 'auth-failed', `unknown device "${capText(c.id)}" (anonymous, from ${address})`, 4);
      return this.admit(c, c.id, done, refuse);
    }
    const id = username;
    const creds = this.deps.credentialsOf(id);
    // The client id rule depends on nothing secret: checked first, it tells a stranger nothing about the config.
    const idProblem = clientIdProblem(c.id, id);
    if (idProblem) return refuse(creds ? id : UNKNOWN_SOURCE, 'connect-refused', `${idProblem} (from ${address})`, 2);
    if (!creds) return refuse(UNKNOWN_SOURCE, 'auth-failed', `unknown device "${id}" from ${address}`, 4);
    const gate = this.logins.begin(address, id);
    if (!gate.ok) return refuse(id, 'connect-refused', `${gate.why}; the device may retry later`, 3);
    const pw = password?.toString('utf8') ?? '';
    const cached = this.verified.get(id);
    if ((this.cfg.deviceKeySecret && safeEqual(pw, derivedPassword(this.cfg.deviceKeySecret, id))) || (cached !== undefined && safeEqual(cached, pw))) {
      this.logins.finish(address, id, true);
      return this.admit(c, id, done, refuse);
    }
    const wrong = () => {
      this.logins.finish(address, id, false);
      refuse(id, 'auth-failed', `wrong password for ${id} from ${address}`, 4);
    };
    if (!creds.passwordHash) return wrong();
    const turn = this.logins.turn();
    if (!turn) {
      this.logins.cancel(address, id);
      this.logins.refusedBusy(address, id);
      return refuse(id, 'connect-refused', `password checks busy (broker.login.concurrentChecks ${this.cfg.login.concurrentChecks} running, ${MAX_WAITING_CHECKS} waiting): login of ${id} from ${address} refused unchecked; the device may retry`, 3);
    }
    const release = await turn;
    if (c.closed) {
      // Gone while it waited for a turn: no scrypt for a connection nobody will read the answer on.
      release();
      return this.logins.cancel(address, id);
    }
    let ok: boolean;
    try {
      ok = await verifyPassword(pw, creds.passwordHash);
    } catch (e) {
      this.logins.cancel(address, id);
      return refuse(id, 'auth-failed', `password check failed: ${(e as Error).message}`, 4);
    } finally {
      release();
    }
    if (!ok) return wrong();
    this.logins.finish(address, id, true);
    if (this.verified.size >= AUTH_CACHE_MAX) this.verified.clear();
    this.verified.set(id, pw);
    this.admit(c, id, done, refuse);
  }

  /** The last step of a login: within broker.maxConnectionsPerDevice (a reconnect with the same client id replaces the old connection). */
  private admit(c: DeviceClient, id: string, done: (e: AuthenticateError | null, ok: boolean | null) => void, refuse: (key: string, reason: RejectReason, why: string, rc: ReturnCode) => void): void {
    let mine = this.live.get(id);
    if (!mine) this.live.set(id, (mine = new Set()));
    for (const x of mine) if (x.closed) mine.delete(x);
    const others = [...mine].filter((x) => x !== c && x.id !== c.id).length;
    const max = this.cfg.maxConnectionsPerDevice;
    if (others >= max) return refuse(id, 'connect-refused', `device ${id} already has ${others} connection(s) (broker.maxConnectionsPerDevice: ${max}): connection from ${addressOf(c)} with client id "${c.id}" refused; a reconnect with the same client id replaces the old connection`, 5);
    c.gridgateDevice = id;
    const conn = c.conn as unknown as Socket;
    if (!conn.destroyed) {
      mine.add(c);
      conn.once('close', () => {
        mine.delete(c);
        if (!mine.size && this.live.get(id) === mine) this.live.delete(id);
      });
    }
    done(null, true);
  }

  private authorizePublish(c: DeviceClient | null, packet: { topic: string; payload: Buffer | string; retain: boolean; qos: number }, cb: (e?: Error | null) => void): void {
    if (!c) return cb(null); // the broker's own will messages
    this.handled.add(packet);
    const id = c.gridgateDevice ?? c.id;
    packet.retain = false; // device uplinks are events, never retained state on our broker
    try {
      if (!mayPublish(id, packet.topic)) {
        this.deps.reject(id, 'acl-denied', `publish to "${capText(packet.topic)}" refused: device ${id} may publish only to devices/${id}/up`);
        return cb(null); // dropped (never routed, see the constructor); the device stays connected
      }
      const now = this.now();
      if (c.gridgateCutOff) {
        this.deps.reject(id, 'rate-limited', `device ${id} is over its rate limit and its connection is closing: message not acknowledged`);
        return packet.qos ? undefined : cb(null);
      }
      let bucket = this.buckets.get(id);
      if (!bucket) this.buckets.set(id, (bucket = new TokenBucket(this.cfg.rateLimit.perSecond, this.cfg.rateLimit.burst, now)));
      if (!bucket.take(now)) {
        const limit = `more than ${this.cfg.rateLimit.perSecond} msg/s (burst ${this.cfg.rateLimit.burst}) from device ${id}`;
        if (!packet.qos) {
          this.deps.reject(id, 'rate-limited', `${limit}: QoS 0 message dropped`);
          return cb(null);
        }
        // MQTT 3.1.1 cannot say "not now". No PUBACK (it would say "delivered") and, once what came before is
        // acknowledged, a closed connection: the device sends the message again after reconnecting.
        this.deps.reject(id, 'rate-limited', `${limit}: QoS ${packet.qos} message not acknowledged, connection closed (the device sends it again after reconnecting)`);
        this.cutOff(c);
        return; // no callback: aedes neither acknowledges it nor reads further from this connection
      }
      const deviceId = deviceOfUpTopic(packet.topic)!;
      const text = typeof packet.payload === 'string' ? packet.payload : packet.payload.toString('utf8');
      c.gridgatePending = (c.gridgatePending ?? 0) + 1;
      this.deps.accept({ deviceId, source: 'mqtt', receivedAt: now, content: { kind: 'json', text } }, (err) => {
        c.gridgatePending!--;
        cb(err ?? null);
        if (c.gridgateCutOff && !c.gridgatePending) this.endConnection(c);
      });
    } catch (e) {
      // Nothing escapes into the broker: a bug here drops one message, loudly, and keeps the broker alive.
      this.deps.log.error({ device: id, err: (e as Error).message }, 'embedded broker: uplink handling failed');
      cb(null);
    }
  }

  /** Stops taking a device connection's messages; it is closed once those taken in are acknowledged. */
  private cutOff(c: DeviceClient): void {
    c.gridgateCutOff = true;
    if (!c.gridgatePending) return this.endConnection(c);
    // A message that never becomes durable must not keep the connection open for ever.
    setTimeout(() => (c.conn as unknown as Socket).destroy(), CUT_OFF_GRACE_MS).unref();
  }

  private endConnection(c: DeviceClient): void {
    // end(), not destroy(): the PUBACKs written just before (mqtt-packet corks them for a tick) still go out.
    setImmediate(() => (c.conn as unknown as Socket).end());
  }

  /** The bound ports of the listeners, once started (0 in the config picks a free one). */
  ports: { port?: number; tlsPort?: number } = {};

  /** Starts the configured listeners. */
  async start(): Promise<void> {
    const out: { port?: number; tlsPort?: number } = {};
    await this.aedes.listen(); // aedes 1.x sets up its persistence here
    this.summaryTimer = setInterval(() => this.logLoginSummary(), MINUTE_MS);
    this.summaryTimer.unref();
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
        this.logTooLarge(socket.remoteAddress, tooLarge);
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
    this.ports = out;
  }

  /** One line a minute about refused device logins (each is also counted per device as auth-failed or connect-refused). */
  logLoginSummary(): void {
    const s = this.logins.takeSummary();
    if (s) this.deps.log.warn({ wrongPasswords: s.wrongPasswords, refusedUnchecked: s.refusedUnchecked, addresses: s.addresses, devices: s.devices }, `embedded broker: ${s.wrongPasswords} wrong device password(s), ${s.refusedUnchecked} login(s) refused unchecked (backed off or busy) in the last minute`);
  }

  private logTooLarge(remote: string | undefined, bytes: number): void {
    if (!this.tooLarge.admit(this.now())) return;
    const held = this.tooLarge.takeHeld();
    this.deps.log.warn({ remote, bytes, limit: this.cfg.maxPacketBytes, ...(held && { notLoggedBefore: held }) }, 'embedded broker: packet too large, connection closed');
  }


  async stop(): Promise<void> {
    clearInterval(this.summaryTimer);
    // Stop accepting first, then let aedes disconnect its clients: a server's close callback waits for
    // every open connection, so waiting on it before the clients are gone would never return.
    const closed = this.servers.map((s) => new Promise<void>((res) => s.close(() => res())));
    await new Promise<void>((res) => this.aedes.close(() => res()));
    for (const sock of this.sockets) sock.destroy();
    await Promise.all(closed);
  }
}

function addressOf(c: Client): string {
  return (c.conn as unknown as Partial<Socket>).remoteAddress ?? 'unknown address';
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
