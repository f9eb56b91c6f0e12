import type { Logger } from 'pino';
import { loadConfig } from '../config/load.js';
import { SourceError } from '../config/yaml-source.js';
import { Gateway, type GatewayOptions } from './gateway.js';

/**
 * Owns the running gateway and swaps it on reload. A config that does not validate is refused and the
 * running gateway keeps going: a field engineer's typo never takes a cabinet offline.
 */
export class GatewayHost {
  gateway?: Gateway;
  private reloading = false;

  constructor(
    private readonly file: string,
    private readonly log: Logger,
    private readonly base: Omit<GatewayOptions, 'loaded' | 'onReloadRequest' | 'log'>,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async start(): Promise<Gateway> {
    const loaded = loadConfig(this.file, this.env);
    this.gateway = new Gateway({ ...this.base, loaded, log: this.log, onReloadRequest: () => this.requestReload() });
    await this.gateway.start();
    return this.gateway;
  }

  /** For the reload command: validates now, swaps right after the reply is queued. */
  requestReload(): { ok: boolean; problems?: string } {
    try {
      loadConfig(this.file, this.env);
    } catch (e) {
      return { ok: false, problems: (e as Error).message };
    }
    setImmediate(() => void this.reload());
    return { ok: true };
  }

  /** Validates the config file again and, if it is good, restarts the gateway on it. */
  async reload(): Promise<{ ok: boolean; problems?: string }> {
    if (this.reloading) return { ok: false, problems: 'a reload is already running' };
    this.reloading = true;
    try {
      const loaded = loadConfig(this.file, this.env);
      await this.gateway?.stop();
      this.gateway = new Gateway({ ...this.base, loaded, log: this.log, onReloadRequest: () => this.requestReload() });
      await this.gateway.start();
      this.log.info({ config: this.file }, 'config reloaded');
      return { ok: true };
    } catch (e) {
      const problems = e instanceof SourceError ? e.message : (e as Error).message;
      this.log.error({ config: this.file, problems }, 'config reload refused; the running config stays');
      return { ok: false, problems };
    } finally {
      this.reloading = false;
    }
  }

  async stop(): Promise<void> {
    await this.gateway?.stop();
  }
}
