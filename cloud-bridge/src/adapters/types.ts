import type { CaseReport, CaseStatus } from '@gridgate/contract';
import type { BridgeCaseStatus } from '../store.js';

export interface DeliveryContext {
  /** The case id the case system gave this report, once known. */
  caseId?: string;
  caseStatus: BridgeCaseStatus;
}

export interface DeliveryResult {
  caseId?: string;
  /** A status the case system reported in its answer (e.g. registered on creation). */
  status?: CaseStatus;
  note?: string;
}

export interface PolledStatus {
  reportId: string;
  caseId?: string;
  status: CaseStatus;
  at?: number;
  note?: string;
}

/** A city case system the bridge delivers reports to. */
export interface CaseSystem {
  readonly name: string;
  /** Delivers one report message; resolves when the case system accepted it. Throws PermanentError or anything else (retried). */
  deliver(report: CaseReport, ctx: DeliveryContext): Promise<DeliveryResult>;
  /** For systems that are asked rather than tell: the statuses of these open cases. */
  poll?(cases: Array<{ reportId: string; caseId: string }>): Promise<PolledStatus[]>;
  readonly pollEveryMs?: number;
}

/** The case system refused this report for good (4xx): retrying cannot help; it becomes a dead letter. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

/** A short excerpt of a response body for error messages and dead letters. */
export async function excerpt(res: Response): Promise<string> {
  try {
    return (await res.text()).slice(0, 300).replace(/\s+/g, ' ');
  } catch {
    return '';
  }
}

/** 408, 425, 429 and 5xx are worth retrying; other 4xx are not. */
export function retryable(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}
