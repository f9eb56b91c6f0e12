import { createServer, type Server } from 'node:net';
import { Aedes, type AuthenticateError } from 'aedes';
import { safeEqual } from '../../src/southbound/broker/credentials.js';

export interface CentralUser {
  password: string;
  /** Topic filters the user may publish to and subscribe to (MQTT wildcards allowed). */
  publish: string[];
  subscribe: string[];
}

/**
 * A small stand-in for the city's central broker (and a LoRaWAN network server's broker) for the demo:
 * loopback only, every user with a random password and its own topics. Production uses mosquitto/EMQX.
 */
export class CentralBroker {
  readonly aedes: Aedes;
  private server?: Server;
  port = 0;

  constructor(private readonly users: Record<string, CentralUser>) {
    this.aedes = new Aedes({
      authenticate: (client, username, password, done) => {
        const u = username ? users[username] : undefined;
        if (!u || !safeEqual(password?.toString() ?? '', u.password)) {
          const e = new Error('bad user name or password') as AuthenticateError;
          e.returnCode = 4;
          return done(e, false);
        }
        (client as unknown as { user: string }).user = username!;
        done(null, true);
      },
      authorizePublish: (client, packet, cb) => {
        if (!client) return cb(null);
        const u = users[(client as unknown as { user: string }).user];
        cb(u && u.publish.some((f) => matches(f, packet.topic)) ? null : new Error(`not allowed to publish to ${packet.topic}`));
      },
      authorizeSubscribe: (client, sub, cb) => {
        const u = users[(client as unknown as { user: string }).user];
        cb(null, u && u.subscribe.some((f) => covers(f, sub.topic)) ? sub : null);
      },
    });
  }

  async listen(port = 0): Promise<number> {
    await this.aedes.listen(); // aedes 1.x sets up its persistence here
    this.server = createServer(this.aedes.handle);
    await new Promise<void>((res, rej) => {
      this.server!.once('error', rej);
      this.server!.listen(port, '127.0.0.1', () => res());
    });
    const a = this.server.address();
    this.port = typeof a === 'object' && a ? a.port : port;
    return this.port;
  }

  async close(): Promise<void> {
    await new Promise<void>((res) => this.server?.close(() => res()) ?? res());
    await new Promise<void>((res) => this.aedes.close(() => res()));
  }
}

/** Does MQTT topic filter `filter` match the concrete topic? */
export function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Is every topic that `sub` matches also matched by `allowed`? (a subscription is no wider than allowed) */
export function covers(allowed: string, sub: string): boolean {
  const a = allowed.split('/');
  const s = sub.split('/');
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '#') return true;
    if (i >= s.length) return false;
    if (s[i] === '#') return false;
    if (a[i] === '+') continue;
    if (s[i] === '+' || a[i] !== s[i]) return false;
  }
  return a.length === s.length;
}
