import { h, svg } from './dom.js';

export interface Series {
  metric: string;
  unit?: string;
  points: Array<{ t: number; v: number }>;
}

/**
 * The history API's answer as series: `{metrics: {name: {unit, points: [{t, v}]}}}` (points may also be
 * [t, v] pairs, times ISO strings or Unix ms).
 */
export function toSeries(answer: unknown): Series[] {
  const metrics = (answer as { metrics?: unknown } | null)?.metrics;
  if (!metrics || typeof metrics !== 'object') return [];
  const out: Series[] = [];
  for (const [metric, raw] of Object.entries(metrics as Record<string, unknown>)) {
    const m: { unit?: string; points?: unknown[] } = Array.isArray(raw) ? { points: raw } : (raw as { unit?: string; points?: unknown[] });
    const points: Series['points'] = [];
    for (const p of m.points ?? []) {
      const [t, v] = Array.isArray(p) ? p : [(p as { t?: unknown; ts?: unknown }).t ?? (p as { ts?: unknown }).ts, (p as { v?: unknown; value?: unknown }).v ?? (p as { value?: unknown }).value];
      const tm = typeof t === 'number' ? t : Date.parse(String(t));
      const val = typeof v === 'boolean' ? Number(v) : Number(v);
      if (Number.isFinite(tm) && Number.isFinite(val)) points.push({ t: tm, v: val });
    }
    points.sort((a, b) => a.t - b.t);
    out.push({ metric, ...(m.unit && { unit: m.unit }), points });
  }
  return out;
}

const W = 560;
const H = 140;
const PAD = { l: 56, r: 8, t: 8, b: 22 };

function label(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return v.toFixed(0);
  return String(Math.round(v * 100) / 100);
}

const hhmm = (t: number) => new Date(t).toTimeString().slice(0, 5);

/** A small line chart of one series over [from, to] (SVG, no library). */
export function lineChart(s: Series, from: number, to: number): HTMLElement {
  const pts = s.points;
  const vs = pts.map((p) => p.v);
  let lo = Math.min(...vs);
  let hi = Math.max(...vs);
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const x = (t: number) => PAD.l + ((t - from) / Math.max(1, to - from)) * (W - PAD.l - PAD.r);
  const y = (v: number) => PAD.t + (1 - (v - lo) / (hi - lo)) * (H - PAD.t - PAD.b);
  const d = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  const chart = svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${s.metric} history` },
    svg('line', { x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b, class: 'axis' }),
    svg('line', { x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b, class: 'axis' }),
    svg('text', { x: PAD.l - 4, y: PAD.t + 10, class: 'tick', 'text-anchor': 'end' }, label(hi)),
    svg('text', { x: PAD.l - 4, y: H - PAD.b, class: 'tick', 'text-anchor': 'end' }, label(lo)),
    svg('text', { x: PAD.l, y: H - 6, class: 'tick' }, hhmm(from)),
    svg('text', { x: W - PAD.r, y: H - 6, class: 'tick', 'text-anchor': 'end' }, hhmm(to)),
    svg('path', { d, class: 'line' }),
    ...(pts.length === 1 ? [svg('circle', { cx: x(pts[0]!.t), cy: y(pts[0]!.v), r: 3, class: 'dot' })] : []),
  );
  return h('figure', { class: 'chart-box', 'data-metric': s.metric }, h('figcaption', {}, `${s.metric}${s.unit ? ` (${s.unit})` : ''} · ${pts.length}`), chart as unknown as HTMLElement);
}
