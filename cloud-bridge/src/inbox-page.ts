import type { CaseReport } from '@gridgate/contract';
import type { InboxCase } from './adapters/inbox.js';
import type { CaseFigures } from './cases.js';
import type { ReportRow } from './store.js';

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function time(ms: number | string, tz: string): string {
  const d = typeof ms === 'string' ? new Date(ms) : new Date(ms);
  return new Intl.DateTimeFormat('zh-CN', { timeZone: tz, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(d);
}

const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

/** Next actions an operator can take on a case in each status. */
const ACTIONS: Record<string, Array<[string, string]>> = {
  pending: [['registered', '立案 register'], ['rejected', '作废 reject']],
  registered: [['dispatched', '派遣 dispatch'], ['rejected', '作废 reject']],
  reopened: [['dispatched', '派遣 dispatch'], ['handled', '处置完毕 handled']],
  dispatched: [['handled', '处置完毕 handled']],
  handled: [['closed', '结案 close']],
};

/** The local inbox as a plain HTML list: one row per case with grid, category, status, deadlines and evidence. */
export function inboxPage(o: { cases: InboxCase[]; reports: Map<string, ReportRow | undefined>; figures: CaseFigures; timezone: string; csrf: string; adapter: string; now: number }): string {
  const rows = o.cases
    .map((c) => {
      const rep = JSON.parse(c.report) as CaseReport;
      const row = o.reports.get(c.report_id);
      const due = (label: string, iso: string, doneAt: number | null | undefined) => {
        const late = (doneAt ?? o.now) > Date.parse(iso);
        return `<div class="${late ? 'late' : ''}">${label} ${esc(time(iso, o.timezone))}${doneAt ? ' ✓' : late ? ' overdue' : ''}</div>`;
      };
      const evidence = rep.evidence
        .map((e) => `<div><code title="SHA-256 ${esc(e.sha256)}">${esc(e.ref)}</code> <small>${esc(e.kind)} · sha256 ${esc(e.sha256.slice(0, 12))}…</small></div>`)
        .join('');
      const actions = (ACTIONS[c.status] ?? [])
        .map(([s, label]) => `<form method="post" action="/inbox/cases/${encodeURIComponent(c.case_id)}/status"><input type="hidden" name="csrf" value="${esc(o.csrf)}"><input type="hidden" name="status" value="${esc(s)}"><button>${esc(label)}</button></form>`)
        .join('');
      return `<tr>
  <td><b>${esc(c.case_id)}</b><div><small>${esc(rep.reportId)}</small></div></td>
  <td class="st st-${esc(c.status)}">${esc(c.status)}<div><small>report: ${esc(rep.status)}${row?.reopen_count ? ` · reopened ×${row.reopen_count}` : ''}</small></div></td>
  <td><code>${esc(rep.gridId)}</code></td>
  <td>${esc(rep.category.code)} ${esc(rep.category.minor.name.zh)}<div><small>${esc(rep.category.minor.name.en)} · ${esc(rep.category.major.name.zh)}</small></div></td>
  <td>${esc(rep.severity)}<div><small>×${esc(rep.occurrences)}</small></div></td>
  <td>${esc(time(rep.firstSeen, o.timezone))}</td>
  <td>${due('立案', rep.deadlines.registerBy, row?.registered_at)}${due('派遣', rep.deadlines.dispatchBy, row?.dispatched_at)}${due('处置', rep.deadlines.resultBy, row?.handled_at)}</td>
  <td>${evidence}</td>
  <td class="desc">${esc(rep.description.zh)}<div><small>${esc(rep.description.en)}</small></div></td>
  <td>${actions}</td>
</tr>`;
    })
    .join('\n');
  const f = o.figures;
  return `<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>GridGate case inbox</title>
<meta http-equiv="refresh" content="5">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1em}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4em;vertical-align:top;text-align:left}
th{background:#f4f4f4}.late{color:#b00}.st-closed{color:#080}.st-reopened{color:#b00;font-weight:bold}form{display:inline}.desc{max-width:32em}small{color:#666}
</style></head><body>
<h1>GridGate 案件 · case inbox</h1>
<p>${f.cases} case(s) · 立案及时率 on-time register ${pct(f.rates.onTimeRegister)} · 派遣及时率 on-time dispatch ${pct(f.rates.onTimeDispatch)} · 处置及时率 on-time handling ${pct(f.rates.onTimeHandling)} · 结案率 closure ${pct(f.rates.closure)} · 返工率 rework ${pct(f.rates.rework)}</p>
${o.adapter === 'inbox' ? '' : `<p>Cases are delivered to the ${esc(o.adapter)} case system; this inbox is not in use.</p>`}
<table><thead><tr><th>Case</th><th>Status</th><th>Grid 网格</th><th>Category 类别</th><th>Severity</th><th>First seen</th><th>Deadlines 时限</th><th>Evidence 证据</th><th>Description 描述</th><th>Action</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="10">No cases yet.</td></tr>'}
</tbody></table>
</body></html>
`;
}
