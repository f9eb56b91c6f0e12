import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { redactConfigText, restoreRedacted } from '../../util/redact.js';
import type { SourceProblem } from '../../util/yaml-source.js';
import { verifyPassword } from '../../southbound/broker/credentials.js';
import { loadCameraProfiles } from '../../pipeline/vision/rules/load.js';
import type { CameraProfile } from '../../pipeline/vision/rules/profile.js';
import type { LoadedGridMap } from '../../pipeline/grids/load.js';
import type { CameraConfig } from '../../southbound/cameras/config.js';
import type { ConfigWriter } from './config-writer.js';
import { defaultConsoleConfig, type ConsoleConfig } from './config.js';
import { readCookie, sessionCookie } from './cookies.js';
import { LoginBackoff, type LoginLimits } from '../../util/login-backoff.js';
import { refuseForeignLogin } from './login-origin.js';
import { CONSOLE_CSS, consolePage } from './page.js';
import { SessionStore, type SessionLimits } from './sessions.js';
import { SystemSampler } from './system.js';
import { setCameraZones, zoneInputProblems } from './zone-edit.js';

/** What the console needs of the running gateway (whichever one the host runs after a reload). */
export interface ConsoleGatewayView {
  /** The parts of the running gateway's loaded config (config/load.ts LoadedConfig) the console reads. */
  loaded: {
    config: { gateway: { id: string; dataDir: string }; console: ConsoleConfig; api: { tls?: unknown }; cameras: CameraConfig[]; profiles: { dirs: string[] } };
    grids?: Pick<LoadedGridMap, 'map'>;
    cameraProfiles?: Map<string, CameraProfile>;
  };
  /** The camera's effective unit grid (own, looked up, or the gateway's), for the zone editor's default. */
  cameraGrid(id: string): string | undefined;
}

export interface WebConsoleDeps {
  /** The config file the gateway runs on: what the console shows and edits. */
  file: string;
  /** Checks and saves edits of that file, with the secrets the gateway will load it with. */
  writer: ConfigWriter;
  gateway(): ConsoleGatewayView | undefined;
  /** Validates the file and swaps the running gateway onto it (GatewayHost.requestReload). */
  requestReload(): { ok: boolean; problems?: string };
  log: Logger;
  now?: () => number;
}

export const SESSION_COOKIE = 'gg_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), 'web');
/** The zone rules the browser imports as ./zone-shape.js: compiled from model/ (the cameras stage checks with them too). */
const ZONE_SHAPE_DIR = fileURLToPath(new URL('../../model/', import.meta.url));
const assetFile = (name: string) => join(name.startsWith('zone-shape.') ? ZONE_SHAPE_DIR : WEB_DIR, name);
const ASSET = /^[a-z][a-z0-9-]*\.js(\.map)?$/;
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** The page, its assets and the login itself are open; every other route needs the token or a session. */
const PUBLIC = { config: { access: 'public' as const } };
/** The console has one user; the login limit counts per address and user all the same. */
const ADMIN = 'admin';
const loginLimits = (c: ConsoleConfig): LoginLimits => ({ maxFailures: c.login.maxFailures, delayMs: c.login.firstBackoffS * 1000, maxDelayMs: c.login.maxBackoffS * 1000, windowMs: c.login.windowS * 1000 });
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const problemView = (p: SourceProblem) => ({ line: p.line, path: p.path, message: p.message });

/**
 * The local web console: admin login (scrypt hash from the config, rate-limited, expiring sessions in an
 * HttpOnly SameSite cookie), the single-page console under /console, and the APIs it needs beyond the
 * gateway's own (system stats, config view/validate/save, camera zones). Owned by the GatewayHost so that
 * logins survive a config reload; every API here also takes the bearer token.
 */
export class WebConsole {
  readonly sessions: SessionStore;
  readonly limiter: LoginBackoff;
  private readonly system = new SystemSampler();

  constructor(private readonly deps: WebConsoleDeps) {
    this.sessions = new SessionStore(deps.now);
    this.limiter = new LoginBackoff(deps.now);
  }

  private get cfg(): ConsoleConfig {
    return this.deps.gateway()?.loaded.config.console ?? defaultConsoleConfig;
  }

  private limits(): SessionLimits {
    const c = this.cfg;
    return { ttlMs: c.sessionTtlS * 1000, idleMs: c.idleTimeoutS * 1000 };
  }

  /** For createApiServer: a request carrying a live session cookie (and, for changes, its CSRF token) is let in. */
  authorize = (req: FastifyRequest): boolean => {
    if (!this.cfg.enabled) return false;
    const r = this.sessions.get(readCookie(req.headers.cookie, SESSION_COOKIE), this.limits());
    if (!r.ok) return false;
    return SAFE_METHODS.has(req.method) || req.headers['x-csrf-token'] === r.session.csrf;
  };

  routes = (app: FastifyInstance): void => {
    this.pageRoutes(app);
    this.sessionRoutes(app);
    this.apiRoutes(app);
  };

  private pageRoutes(app: FastifyInstance): void {
    const off = (reply: FastifyReply) => reply.code(404).type('text/plain; charset=utf-8').send('The console is switched off on this gateway (console.enabled: false).');
    app.get('/console', PUBLIC, async (_req, reply) => reply.redirect('/console/'));
    app.get('/console/', PUBLIC, async (_req, reply) => {
      if (!this.cfg.enabled) return off(reply);
      return reply.headers(SECURITY_HEADERS).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(consolePage());
    });
    app.get('/console/assets/console.css', PUBLIC, async (_req, reply) => reply.headers(SECURITY_HEADERS).type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(CONSOLE_CSS));
    app.get<{ Params: { name: string } }>('/console/assets/:name', PUBLIC, async (req, reply) => {
      const name = req.params.name;
      const file = assetFile(name);
      if (!ASSET.test(name) || !existsSync(file)) return reply.code(404).send({ error: `no console asset ${name.slice(0, 100)}` });
      return reply
        .headers(SECURITY_HEADERS)
        .type(name.endsWith('.map') ? 'application/json' : 'text/javascript; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(readFileSync(file));
    });
  }

  private sessionRoutes(app: FastifyInstance): void {
    const secure = () => !!this.deps.gateway()?.loaded.config.api.tls;
    app.get('/console/session', PUBLIC, async (req, reply) => {
      const c = this.cfg;
      const r = this.sessions.get(readCookie(req.headers.cookie, SESSION_COOKIE), this.limits(), false);
      const view = this.deps.gateway();
      const base = { enabled: c.enabled, passwordSet: !!c.passwordHash, gatewayId: view?.loaded.config.gateway.id };
      void reply.header('cache-control', 'no-store');
      if (!r.ok) return { ...base, loggedIn: false, reason: r.reason };
      return { ...base, loggedIn: true, csrf: r.session.csrf, expiresAt: new Date(this.sessions.expiresAt(r.session, this.limits())).toISOString() };
    });
    // Only a JSON login from the console page counts; a form or script on another site is refused first.
    app.post<{ Body: { password?: unknown } | undefined }>('/console/session', { ...PUBLIC, onRequest: refuseForeignLogin }, async (req, reply) => {
      const c = this.cfg;
      if (!c.enabled) return reply.code(404).send({ code: 'disabled', error: 'the console is switched off on this gateway (console.enabled: false)' });
      if (!c.passwordHash) {
        return reply.code(409).send({ code: 'no-password', error: 'no admin password is set: run `gridgate console set-password --config <file>` on the gateway, then reload it' });
      }
      const password = req.body?.password;
      if (typeof password !== 'string' || !password.length || password.length > 1024) return reply.code(400).send({ code: 'bad-request', error: 'send {"password": "…"} (1 to 1024 characters)' });
      const key = LoginBackoff.key(req.ip, ADMIN);
      const limits = loginLimits(c);
      const tooMany = (w: number) => reply.code(429).header('retry-after', String(w)).send({ code: 'rate-limited', retryAfterS: w, error: `too many wrong passwords: try again in ${w} s` });
      const wait = this.limiter.retryAfterS(key, limits);
      if (wait > 0) return tooMany(wait);
      if (!this.limiter.begin(key)) return tooMany(1);
      let ok: boolean;
      try {
        ok = await verifyPassword(password, c.passwordHash);
      } finally {
        this.limiter.done(key);
      }
      if (!ok) {
        const f = this.limiter.fail(key, limits);
        this.deps.log.warn({ from: req.ip, left: f.remaining, waitS: f.retryAfterS }, 'console: wrong admin password');
        if (f.retryAfterS > 0) return tooMany(f.retryAfterS);
        return reply.code(401).send({ code: 'wrong-password', remaining: f.remaining, error: 'wrong password' });
      }
      this.limiter.succeed(key);
      const s = this.sessions.create();
      this.deps.log.info({ from: req.ip }, 'console: admin logged in');
      return reply
        .header('set-cookie', sessionCookie(SESSION_COOKIE, s.id, { secure: secure() }))
        .header('cache-control', 'no-store')
        .send({ loggedIn: true, csrf: s.csrf, expiresAt: new Date(this.sessions.expiresAt(s, this.limits())).toISOString() });
    });
    app.delete('/console/session', PUBLIC, async (req, reply) => {
      const id = readCookie(req.headers.cookie, SESSION_COOKIE);
      const r = this.sessions.get(id, this.limits(), false);
      // Logging out takes the CSRF token too: another site cannot end the session either.
      if (r.ok && req.headers['x-csrf-token'] === r.session.csrf) this.sessions.end(r.session.id);
      return reply.header('set-cookie', sessionCookie(SESSION_COOKIE, '', { secure: secure(), maxAgeS: 0 })).send({ loggedIn: false });
    });
  }

  private apiRoutes(app: FastifyInstance): void {
    const view = () => {
      const v = this.deps.gateway();
      if (!v) throw Object.assign(new Error('the gateway is restarting: try again in a moment'), { statusCode: 503 });
      return v;
    };
    app.get('/api/v1/system', async () => this.system.sample(view().loaded.config.gateway.dataDir));

    // Secrets (hashes, tokens, passwords) go out as <redacted>; the sha256 is of the file as it is.
    app.get('/api/v1/config', async (_req, reply) => {
      const text = readFileSync(this.deps.file, 'utf8');
      void reply.header('cache-control', 'no-store');
      return { file: this.deps.file, text: redactConfigText(text), sha256: sha256(text) };
    });
    app.post<{ Body: { text?: unknown } }>('/api/v1/config/validate', async (req, reply) => {
      const edited = req.body?.text;
      if (typeof edited !== 'string') return reply.code(400).send({ error: 'send {"text": "<the YAML of the config>"}' });
      const { text, problems } = this.withSecrets(edited);
      if (problems.length) return { ok: false, problems };
      const found = this.deps.writer.check(text);
      return { ok: found.length === 0, problems: found.map(problemView) };
    });
    app.put<{ Body: { text?: unknown; sha256?: unknown } }>('/api/v1/config', async (req, reply) => {
      const edited = req.body?.text;
      if (typeof edited !== 'string') return reply.code(400).send({ error: 'send {"text": "<the YAML of the config>", "sha256": "<of the text you edited>"}' });
      const stale = this.staleBase(req.body.sha256);
      if (stale) return reply.code(409).send(stale);
      const { text, problems } = this.withSecrets(edited);
      if (problems.length) return reply.code(400).send({ code: 'invalid', error: 'the config would not validate, so nothing was changed', problems });
      return this.save(reply, text, 'config edited in the console');
    });
    app.post('/api/v1/config/reload', async (_req, reply) => {
      const r = this.deps.requestReload();
      if (!r.ok) return reply.code(400).send({ code: 'invalid', error: 'the config file does not validate; the running config stays', problems: r.problems });
      return { reloading: true };
    });

    app.get<{ Params: { id: string } }>('/api/v1/cameras/:id/zones', async (req, reply) => {
      const v = view();
      const cam = v.loaded.config.cameras.find((c) => c.id === req.params.id);
      if (!cam) return reply.code(404).send({ error: `no camera "${req.params.id}" in the config` });
      const text = readFileSync(this.deps.file, 'utf8');
      const grids = v.loaded.grids?.map.grids ?? [];
      return {
        cameraId: cam.id,
        ...(cam.name && { name: cam.name }),
        cameraGrid: v.cameraGrid(cam.id),
        zones: cam.zones,
        rules: this.ruleList(v),
        grids: grids.slice(0, 5000).map((g) => ({ code: g.code, ...(g.name && { name: g.name }) })),
        sha256: sha256(text),
      };
    });
    app.put<{ Params: { id: string }; Body: { zones?: unknown; sha256?: unknown } }>('/api/v1/cameras/:id/zones', async (req, reply) => {
      const v = view();
      if (!v.loaded.config.cameras.some((c) => c.id === req.params.id)) return reply.code(404).send({ error: `no camera "${req.params.id}" in the config` });
      const { zones, problems } = zoneInputProblems(req.body?.zones);
      const known = new Set(this.ruleList(v).map((r) => r.id));
      if (zones && known.size) {
        zones.forEach((z, i) => {
          for (const r of z.rules) if (!known.has(r)) problems.push({ zone: i, zoneId: z.id, code: 'no-rules', points: [], message: `zone ${i + 1} (${z.id}): no camera profile defines the rule "${r}" (known: ${[...known].join(', ')})` });
        });
      }
      if (problems.length || !zones) return reply.code(400).send({ code: 'invalid-zones', error: problems.map((p) => p.message).join('\n'), problems });
      const stale = this.staleBase(req.body?.sha256);
      if (stale) return reply.code(409).send(stale);
      let next: string;
      try {
        next = setCameraZones(readFileSync(this.deps.file, 'utf8'), req.params.id, zones);
      } catch (e) {
        return reply.code(409).send({ code: 'not-editable', error: (e as Error).message });
      }
      return this.save(reply, next, `zones of camera ${req.params.id} saved in the console`);
    });
  }

  /** The edited text with the file's secrets back where it still says <redacted>. */
  private withSecrets(edited: string): { text: string; problems: ReturnType<typeof problemView>[] } {
    return restoreRedacted(edited, readFileSync(this.deps.file, 'utf8'));
  }

  /** A 409 body when the file changed on disk since the client read it (another edit, a CLI command). */
  private staleBase(base: unknown): object | undefined {
    if (typeof base !== 'string' || !base) return undefined;
    const now = sha256(readFileSync(this.deps.file, 'utf8'));
    return now === base ? undefined : { code: 'changed', error: 'the config file changed since you opened it (another edit or a CLI command): reload the page and make your change again' };
  }

  /** Validate, write atomically, then ask the host to swap the running gateway onto it. */
  private save(reply: FastifyReply, text: string, what: string) {
    const refused = this.deps.writer.write(text);
    if (refused.length) return reply.code(400).send({ code: 'invalid', error: 'the config would not validate, so nothing was changed', problems: refused.map(problemView) });
    const r = this.deps.requestReload();
    this.deps.log.info({ config: this.deps.file }, what);
    return reply.send({ saved: true, sha256: sha256(text), reloading: r.ok, ...(r.problems && { problems: r.problems }) });
  }

  /** Zone rules the camera profiles define (name and a title from the first rule under it). */
  private ruleList(v: ConsoleGatewayView): Array<{ id: string; title?: { zh: string; en: string } }> {
    let profiles = v.loaded.cameraProfiles;
    if (!profiles) {
      // Vision is not configured: the camera profiles beside the device profiles (device-profiles/cameras).
      const dirs = v.loaded.config.profiles.dirs.map((d) => join(d, 'cameras')).filter((d) => existsSync(d));
      try {
        profiles = dirs.length ? loadCameraProfiles(dirs) : undefined;
      } catch {
        profiles = undefined;
      }
    }
    const out = new Map<string, { id: string; title?: { zh: string; en: string } }>();
    for (const p of profiles?.values() ?? []) {
      for (const [name, rules] of Object.entries(p.zoneRules)) if (!out.has(name)) out.set(name, { id: name, ...(rules[0] && { title: rules[0].title }) });
    }
    return [...out.values()];
  }
}
