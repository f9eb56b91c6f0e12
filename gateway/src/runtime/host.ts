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
    const loaded = loadConfig(this.file, this.env);
    this.gateway = this.build(loaded);
    await this.gateway.start();
    return this.gateway;
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
      await this.gateway?.stop();
      this.gateway = undefined;
      this.gateway = this.build(loaded);
      await this.gateway.start();
      this.log.info({ config: this.file }, 'config reloaded');
      return { ok: true };
    } catch (e) {
      const problems = e instanceof SourceError ? e.message : (e as Error).message;
      this.log.error({ config: this.file, problems }, 'config reload refused; the running config stays');
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
