import type { Logger } from 'pino';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { SourceError } from '../util/yaml-source.js';
import { WebConsole } from '../local/console/console.js';
import { configWriter } from '../config/safe-write.js';
import { Gateway, type GatewayOptions } from './gateway.js';

/**
 * Owns the running gateway and swaps it on reload. A config that does not validate is refused and the
 * running gateway keeps going: a field engineer's typo never takes a cabinet offline. The web console lives
 * here, not in the gateway, so that logins survive the reloads its own edits cause.
 */
export class GatewayHost {
  gateway?: Gateway;
  readonly console: WebConsole;
  private reloading = false;
  private reloadAgain = false;

  constructor(
    private readonly file: string,
    private readonly log: Logger,
    private readonly base: Omit<GatewayOptions, 'loaded' | 'onReloadRequest' | 'log'>,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.console = new WebConsole({
      file,
      writer: configWriter(file, env),
      log,
      gateway: () => {
        const g = this.gateway;
        return g && { loaded: g.loaded, cameraGrid: (id: string) => g.cameras.infos.get(id)?.gridId };
      },
      requestReload: () => this.requestReload(),
    });
  }

  private build(loaded: LoadedConfig): Gateway {
    return new Gateway({
      ...this.base,
      routes: [...(this.base.routes ?? []), this.console.routes],
      authorize: this.console.authorize,
      loaded,
      log: this.log,
      onReloadRequest: () => this.requestReload(),
    });
  }

  async start(): Promise<Gateway> {
    return this.startOn(loadConfig(this.file, this.env));
  }

  /** Builds and starts a gateway on `loaded`; one that fails half-way is stopped again, and none is left set. */
  private async startOn(loaded: LoadedConfig): Promise<Gateway> {
    const g = this.build(loaded);
    this.gateway = g;
    try {
      await g.start();
    } catch (e) {
      this.gateway = undefined;
      await g.stop().catch(() => undefined);
      throw e;
    }
    return g;
  }

  /** For the reload command and the console: validates now, swaps right after the reply is queued. */
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
    if (this.reloading) {
      // The file changed again while a reload runs: load it once more afterwards, so the newest edit wins.
      this.reloadAgain = true;
      return { ok: false, problems: 'a reload is already running; the newest config is loaded after it' };
    }
    this.reloading = true;
    try {
      const loaded = loadConfig(this.file, this.env);
      const previous = this.gateway?.loaded;
      await this.gateway?.stop();
      this.gateway = undefined;
      try {
        await this.startOn(loaded);
      } catch (e) {
        // Valid but unable to start (a data dir that is a file, a port taken): the old gateway is already
        // stopped, so start it again on the config it ran; a cabinet must not be left with nothing running.
        if (!previous) throw e;
        const problems = (e as Error).message;
        this.log.error({ config: this.file, problems }, 'the new config did not start; going back to the previous one');
        await this.startOn(previous);
        this.log.warn({ config: this.file }, 'back on the previous config');
        return { ok: false, problems: `the new config did not start (${problems}); the previous config runs again` };
      }
      this.log.info({ config: this.file }, 'config reloaded');
      return { ok: true };
    } catch (e) {
      const problems = e instanceof SourceError ? e.message : (e as Error).message;
      if (this.gateway) this.log.error({ config: this.file, problems }, 'config reload refused; the running config stays');
      else this.log.fatal({ config: this.file, problems }, 'config reload failed and the previous config did not start again: no gateway is running');
      return { ok: false, problems };
    } finally {
      this.reloading = false;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        setImmediate(() => void this.reload());
      }
    }
  }

  async stop(): Promise<void> {
    await this.gateway?.stop();
  }
}
