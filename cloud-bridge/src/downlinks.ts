import type { Logger } from 'pino';
import { immediate, type Db, type DownlinkRow } from './store.js';
import { backoffMs } from './util.js';

/**
 * Sends queued case.status commands to the gateways (QoS 1; the broker keeps them in the gateway's
 * persistent session while it is offline). Claimed with a lease like deliveries, so with several
 * instances each command goes out once; if an instance dies between publish and bookkeeping, another
 * sends it again and the gateway applies a repeated status as a no-op.
 */
export class Downlinker {
  private timer?: NodeJS.Timeout;
  private busy = false;
  sent = 0;

  constructor(
    private readonly db: Db,
    private readonly publisher: { readonly connected: boolean; publish(topic: string, payload: string): Promise<void> },
    private readonly instanceId: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.pump(), 250);
    this.timer.unref();
  }

  async pump(): Promise<void> {
    if (this.busy || !this.publisher.connected) return;
    this.busy = true;
    try {
      for (let i = 0; i < 100; i++) {
        const now = this.now();
        const row = immediate(this.db, () => {
          const r = this.db.prepare("SELECT * FROM downlinks WHERE state = 'pending' AND next_at <= ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY created_at LIMIT 1").get(now, now) as DownlinkRow | undefined;
          if (r) this.db.prepare('UPDATE downlinks SET claimed_by = ?, lease_until = ? WHERE id = ?').run(this.instanceId, now + 30_000, r.id);
          return r;
        });
        if (!row) return;
        try {
          await this.publisher.publish(row.topic, row.payload);
          this.db.prepare("UPDATE downlinks SET state = 'sent', sent_at = ?, attempts = attempts + 1, lease_until = NULL WHERE id = ?").run(this.now(), row.id);
          this.sent++;
          this.log.info({ reportId: row.report_id, gateway: row.gateway_id, status: row.status, commandId: row.id }, 'case status sent to the gateway');
        } catch (e) {
          this.db.prepare('UPDATE downlinks SET attempts = attempts + 1, next_at = ?, lease_until = NULL WHERE id = ?').run(this.now() + backoffMs(row.attempts + 1, 1000, 60_000), row.id);
          this.log.warn({ reportId: row.report_id, err: (e as Error).message }, 'case status not sent; will retry');
          return;
        }
      }
    } finally {
      this.busy = false;
    }
  }

  pending(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM downlinks WHERE state = 'pending'").get() as { n: number }).n;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
