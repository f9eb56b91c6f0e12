import type { CaseReport } from '@gridgate/contract';
import { excerpt, PermanentError, retryable, type CaseSystem, type DeliveryContext, type DeliveryResult, type PolledStatus } from './types.js';

export interface Open311Options {
  url: string;
  apiKey?: string;
  jurisdictionId?: string;
  serviceCodes: Record<string, string>;
  defaultServiceCode?: string;
  language: 'zh' | 'en' | 'both';
  mediaBaseUrl?: string;
  pollS: number;
  timeoutMs: number;
}

const TOKEN = 'token:';

/** The form fields of POST /requests for one report (GeoReport v2). Pure. */
export function open311Form(report: CaseReport, o: Open311Options, previousCaseId?: string): URLSearchParams {
  const serviceCode = o.serviceCodes[report.category.code] ?? o.defaultServiceCode;
  if (!serviceCode) throw new PermanentError(`no Open311 service_code for category ${report.category.code} (${report.category.minor.name.en}): add it to open311.serviceCodes`);
  const d = report.description;
  let text = o.language === 'zh' ? d.zh : o.language === 'en' ? d.en : `${d.zh}\n\n${d.en}`;
  if (report.status === 'reopened') text = `${o.language === 'zh' ? '复发' : 'Reopened'}${previousCaseId ? ` (${previousCaseId})` : ''}: ${text}`;
  const f = new URLSearchParams();
  if (o.apiKey) f.set('api_key', o.apiKey);
  if (o.jurisdictionId) f.set('jurisdiction_id', o.jurisdictionId);
  f.set('service_code', serviceCode);
  f.set('lat', String(report.location.lat));
  f.set('long', String(report.location.lon));
  if (report.address) f.set('address_string', report.address);
  f.set('description', [...text].slice(0, 4000).join(''));
  const media = mediaUrl(report, o.mediaBaseUrl);
  if (media) f.set('media_url', media);
  f.set('attribute[grid_id]', report.gridId);
  f.set('attribute[report_id]', report.reportId);
  f.set('attribute[category_code]', report.category.code);
  if (report.assetId) f.set('attribute[asset_id]', report.assetId);
  return f;
}

/** The first picture among the evidence as an absolute URL, if one can be formed. */
function mediaUrl(report: CaseReport, base?: string): string | undefined {
  const pic = report.evidence.find((e) => e.kind !== 'readings');
  if (!pic) return undefined;
  if (/^https?:\/\//.test(pic.ref)) return pic.ref;
  return base ? `${base.replace(/\/$/, '')}/${report.gatewayId}/${pic.ref.replace(/^\//, '')}` : undefined;
}

/**
 * Open311 GeoReport v2: a report's `new` becomes POST /requests (form-encoded); a `reopened` report
 * becomes a new request that names the old one (v2 has no way to reopen). Other statuses have no v2
 * endpoint and are recorded by the bridge only. Status comes from polling GET /requests: open means
 * registered; closed means handled (the gateway then verifies on its own).
 */
export class Open311CaseSystem implements CaseSystem {
  readonly name = 'open311';
  readonly pollEveryMs: number;

  constructor(private readonly o: Open311Options) {
    this.pollEveryMs = o.pollS * 1000;
  }

  private url(path: string, query: Record<string, string> = {}): string {
    const u = new URL(`${this.o.url.replace(/\/$/, '')}/${path}`);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    if (this.o.jurisdictionId) u.searchParams.set('jurisdiction_id', this.o.jurisdictionId);
    return u.toString();
  }

  private async call(url: string, init: RequestInit = {}): Promise<unknown> {
    const res = await fetch(url, { ...init, headers: { accept: 'application/json', 'user-agent': 'gridgate-bridge', ...init.headers }, signal: AbortSignal.timeout(this.o.timeoutMs) });
    if (!res.ok) {
      const why = `Open311 ${init.method ?? 'GET'} ${url.split('?')[0]} answered ${res.status}: ${await excerpt(res)}`;
      if (retryable(res.status)) throw new Error(why);
      throw new PermanentError(why);
    }
    return res.json();
  }

  async deliver(report: CaseReport, ctx: DeliveryContext): Promise<DeliveryResult> {
    const create = report.status === 'reopened' || !ctx.caseId;
    if (!create) {
      // No v2 endpoint for an update, resolved or verified: a verified report closes the case on our side.
      return report.status === 'verified' ? { status: 'closed', note: 'verified by the gateway; the Open311 request was already closed' } : {};
    }
    if (report.status === 'verified' || report.status === 'resolved') return {}; // nothing to open a request for
    const form = open311Form(report, this.o, ctx.caseId);
    const body = (await this.call(this.url('requests.json'), { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } })) as Array<{ service_request_id?: unknown; token?: unknown }>;
    const first = Array.isArray(body) ? body[0] : undefined;
    if (first && (typeof first.service_request_id === 'string' || typeof first.service_request_id === 'number')) return { caseId: String(first.service_request_id) };
    if (first && typeof first.token === 'string') return { caseId: TOKEN + first.token };
    throw new Error(`Open311 POST /requests answered without service_request_id or token: ${JSON.stringify(body).slice(0, 200)}`);
  }

  async poll(cases: Array<{ reportId: string; caseId: string }>): Promise<PolledStatus[]> {
    const out: PolledStatus[] = [];
    const byId = new Map<string, string>();
    for (const c of cases) {
      if (c.caseId.startsWith(TOKEN)) {
        // Servers that cannot create requests in real time hand out a token first.
        const t = (await this.call(this.url(`tokens/${encodeURIComponent(c.caseId.slice(TOKEN.length))}.json`))) as Array<{ service_request_id?: unknown }>;
        const id = t?.[0]?.service_request_id;
        if (typeof id === 'string' || typeof id === 'number') {
          out.push({ reportId: c.reportId, caseId: String(id), status: 'registered' });
          byId.set(String(id), c.reportId);
        }
      } else byId.set(c.caseId, c.reportId);
    }
    const ids = [...byId.keys()];
    for (let i = 0; i < ids.length; i += 50) {
      const chunk = ids.slice(i, i + 50);
      const list = (await this.call(this.url('requests.json', { service_request_id: chunk.join(',') }))) as Array<{ service_request_id?: unknown; status?: unknown; status_notes?: unknown; updated_datetime?: unknown }>;
      for (const r of Array.isArray(list) ? list : []) {
        const id = String(r.service_request_id ?? '');
        const reportId = byId.get(id);
        if (!reportId) continue;
        const at = typeof r.updated_datetime === 'string' ? Date.parse(r.updated_datetime) : NaN;
        const note = typeof r.status_notes === 'string' ? r.status_notes.slice(0, 500) : undefined;
        if (r.status === 'open') out.push({ reportId, caseId: id, status: 'registered', ...(note && { note }) });
        else if (r.status === 'closed') out.push({ reportId, caseId: id, status: 'handled', ...(Number.isFinite(at) && { at }), ...(note && { note }) });
      }
    }
    return out;
  }
}
