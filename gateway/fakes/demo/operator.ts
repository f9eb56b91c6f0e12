/**
 * The demo's operator at the city's case centre: dispatches each new case and, a while later, marks it
 * handled in the bridge's local inbox, as the crew reports back. What happens next is up to the gateway:
 * it verifies with its own sensor and reports `verified` (or `reopened`).
 */
export class DemoOperator {
  private readonly seen = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly bridge: { apiPort: number; token: string },
    private readonly say: (line: string) => void,
    private readonly timing = { dispatchAfterMs: 2000, handledAfterMs: 7000 },
  ) {}

  /** A new report reached the central broker: its case will be in the inbox in a moment. */
  onNewReport(reportId: string): void {
    if (this.seen.has(reportId)) return;
    this.seen.add(reportId);
    this.later(this.timing.dispatchAfterMs, () => this.set(reportId, 'dispatched', '派遣 dispatched to the work station'));
    this.later(this.timing.handledAfterMs, () => this.set(reportId, 'handled', '处置完毕 the crew reports it handled'));
  }

  private later(ms: number, fn: () => Promise<void>): void {
    const t = setTimeout(() => void fn().catch((e: Error) => this.say(`operator: ${e.message}`)), ms);
    this.timers.push(t);
  }

  private async set(reportId: string, status: string, what: string): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.bridge.apiPort}/api/v1/reports/${encodeURIComponent(reportId)}/case`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.bridge.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status }),
    });
    const body = (await res.json()) as { caseId?: string; error?: string };
    const time = new Date().toTimeString().slice(0, 8);
    this.say(res.ok ? `${time} CASE  ${(body.caseId ?? '').padEnd(10)} ${what}` : `${time} CASE  ${reportId}: ${body.error}`);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
  }
}
