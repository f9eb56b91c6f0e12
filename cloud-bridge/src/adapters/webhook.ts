import { createHmac } from 'node:crypto';
import { CaseStatus, type CaseReport } from '@gridgate/contract';
import { excerpt, PermanentError, retryable, type CaseSystem, type DeliveryResult } from './types.js';

/** The signature a receiver recomputes: HMAC-SHA256 over "{timestamp}.{body}" with the shared secret. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * HTTPS webhook: POSTs each report message as JSON with X-GridGate-Signature (HMAC-SHA256 over
 * timestamp.body), X-GridGate-Timestamp (reject old ones to stop replays) and Idempotency-Key (the
 * message id: a retry after a lost answer is the same delivery). A 2xx answer may carry
 * {"caseId": "...", "status": "registered"}; later statuses come back via POST /api/v1/reports/{id}/case.
 */
export class WebhookCaseSystem implements CaseSystem {
  readonly name = 'webhook';

  constructor(private readonly cfg: { url: string; secret: string; headers: Record<string, string>; timeoutMs: number }) {}

  async deliver(report: CaseReport): Promise<DeliveryResult> {
    const body = JSON.stringify(report);
    const ts = Math.floor(Date.now() / 1000);
    const res = await fetch(this.cfg.url, {
      method: 'POST',
      headers: {
        ...this.cfg.headers,
        'content-type': 'application/json',
        'user-agent': 'gridgate-bridge',
        'x-gridgate-timestamp': String(ts),
        'x-gridgate-signature': webhookSignature(this.cfg.secret, ts, body),
        'x-gridgate-report': report.reportId,
        'x-gridgate-status': report.status,
        'idempotency-key': report.id,
      },
      body,
      signal: AbortSignal.timeout(this.cfg.timeoutMs),
    });
    if (!res.ok) {
      const why = `webhook ${this.cfg.url} answered ${res.status}: ${await excerpt(res)}`;
      if (retryable(res.status)) throw new Error(why);
      throw new PermanentError(why);
    }
    let answer: { caseId?: unknown; status?: unknown } = {};
    try {
      answer = (await res.json()) as typeof answer;
    } catch {
      /* an empty or non-JSON 2xx is a plain acceptance */
    }
    const status = CaseStatus.safeParse(answer?.status);
    return {
      ...(typeof answer?.caseId === 'string' && answer.caseId && { caseId: answer.caseId.slice(0, 100) }),
      ...(status.success && { status: status.data }),
    };
  }
}
