import { ApiError, type Api } from './api.js';
import { h, replace, svg } from './dom.js';
import type { I18n, Key } from './i18n.js';
import type { EvidenceView, ZonesAnswer, ZoneView } from './types.js';
// model/zone-shape.ts, served beside this file (tsconfig.json's rootDirs): the server checks zones with it too.
import { polygonProblems } from './zone-shape.js';

type P = [number, number];

interface Problem {
  zone: number;
  code: string;
  points: number[];
  message?: string;
}

/** Share of the picture's size shown around it, so that a corner dragged out of the frame can be seen (and refused). */
const MARGIN = 0.06;
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Problems of the zones being edited: the shared shape rules, plus ids and rules. */
export function zoneProblems(zones: readonly ZoneView[]): Problem[] {
  const out: Problem[] = [];
  const ids = new Set<string>();
  zones.forEach((z, i) => {
    if (!ID.test(z.id)) out.push({ zone: i, code: 'bad-id', points: [] });
    else if (ids.has(z.id)) out.push({ zone: i, code: 'duplicate-id', points: [] });
    ids.add(z.id);
    if (!z.rules.length) out.push({ zone: i, code: 'no-rules', points: [] });
    for (const p of polygonProblems(z.polygon)) out.push({ zone: i, code: p.code, points: p.points, message: p.message });
  });
  return out;
}

/**
 * The zone editor: the camera's snapshot with its zones drawn over it (SVG, normalized coordinates),
 * polygons drawn by clicking and edited by dragging corners, the rule and unit grid of each zone chosen
 * beside it, and everything checked as it is drawn with the same rules the gateway applies when saving.
 */
export class ZoneEditor {
  readonly el: HTMLElement;
  private zones: ZoneView[] = [];
  private answer?: ZonesAnswer;
  private selected = -1;
  private selectedPoint = -1;
  private drawing: P[] | null = null;
  private drag?: { index: number; pointerId: number };
  private dirty = false;
  private aspect = 4 / 3;
  private readonly stage = h('div', { class: 'stage' });
  private readonly img = h('img', { class: 'snapshot', alt: '' });
  private readonly blank = h('div', { class: 'blank' });
  private readonly overlay = svg('svg', { class: 'overlay' });
  private readonly side = h('div', { class: 'zone-side' });
  private readonly messages = h('div', { class: 'zone-messages', 'aria-live': 'polite' });
  private readonly problemsEl = h('ul', { class: 'problems zone-problems' });
  private readonly resize = new ResizeObserver(() => this.draw());
  private readonly onKey = (e: KeyboardEvent) => this.key(e);

  constructor(
    private readonly api: Api,
    private readonly i18n: I18n,
    private readonly cameraId: string,
    size?: { width?: number; height?: number },
  ) {
    if (size?.width && size.height) this.aspect = size.width / size.height;
    this.img.hidden = true;
    this.img.addEventListener('load', () => {
      if (this.img.naturalWidth && this.img.naturalHeight) this.aspect = this.img.naturalWidth / this.img.naturalHeight;
      this.img.hidden = false;
      this.blank.hidden = true;
      this.layout();
    });
    this.stage.append(this.blank, this.img, this.overlay);
    this.overlay.addEventListener('pointerdown', (e) => this.pointerDown(e));
    this.overlay.addEventListener('pointermove', (e) => this.pointerMove(e));
    this.overlay.addEventListener('pointerup', (e) => this.pointerUp(e));
    this.overlay.addEventListener('pointercancel', (e) => this.pointerUp(e));
    const t = (k: Key, p?: Record<string, string | number>) => this.i18n.t(k, p);
    this.el = h(
      'section',
      { class: 'zone-editor' },
      h('h2', {}, t('zone.title', { id: cameraId })),
      h('div', { class: 'toolbar' }, h('button', { type: 'button', id: 'snapshot-btn', onclick: () => void this.snapshot() }, t('cam.snapshot'))),
      h('div', { class: 'zone-layout' }, h('div', { class: 'stage-col' }, this.stage, h('p', { class: 'hint' }, t('zone.editHint'))), this.side),
    );
    this.blank.textContent = t('cam.noSnapshot');
    this.resize.observe(this.stage);
    document.addEventListener('keydown', this.onKey);
    this.layout();
  }

  destroy(): void {
    this.resize.disconnect();
    document.removeEventListener('keydown', this.onKey);
  }

  async load(): Promise<void> {
    this.answer = await this.api.get<ZonesAnswer>(`/api/v1/cameras/${encodeURIComponent(this.cameraId)}/zones`);
    this.zones = this.answer.zones.map((z) => ({ ...z, polygon: z.polygon.map(([x, y]) => [x, y] as P), rules: [...z.rules] }));
    this.selected = this.zones.length ? 0 : -1;
    this.dirty = false;
    this.renderSide();
    this.draw();
  }

  async snapshot(): Promise<void> {
    try {
      const r = await this.api.request<{ evidence: EvidenceView[] }>('POST', `/api/v1/cameras/${encodeURIComponent(this.cameraId)}/snapshot`);
      const clean = r.evidence.find((e) => e.kind === 'clean') ?? r.evidence[0];
      if (clean) this.img.src = `/api/v1/${clean.ref}`;
    } catch (e) {
      this.say(this.i18n.t('cam.snapshotFailed', { msg: (e as Error).message }), 'error');
    }
  }

  private say(text: string, kind: 'ok' | 'error' | 'info'): void {
    replace(this.messages, h('p', { class: `msg ${kind}` }, text));
  }

  // --- geometry: normalized picture coordinates <-> pixels of the overlay (which shows a margin around the picture)

  private layout(): void {
    this.stage.style.aspectRatio = String(this.aspect);
    const inset = `${(MARGIN / (1 + 2 * MARGIN)) * 100}%`;
    const size = `${(1 / (1 + 2 * MARGIN)) * 100}%`;
    for (const el of [this.img, this.blank]) {
      el.style.left = inset;
      el.style.top = inset;
      el.style.width = size;
      el.style.height = size;
    }
    this.draw();
  }

  private box(): { w: number; h: number } {
    const r = this.overlay.getBoundingClientRect();
    return { w: r.width || 1, h: r.height || 1 };
  }

  private toPx([x, y]: readonly [number, number]): P {
    const { w, h: hh } = this.box();
    return [((x + MARGIN) / (1 + 2 * MARGIN)) * w, ((y + MARGIN) / (1 + 2 * MARGIN)) * hh];
  }

  private fromEvent(e: PointerEvent): P {
    const r = this.overlay.getBoundingClientRect();
    const x = ((e.clientX - r.left) / (r.width || 1)) * (1 + 2 * MARGIN) - MARGIN;
    const y = ((e.clientY - r.top) / (r.height || 1)) * (1 + 2 * MARGIN) - MARGIN;
    const lim = (v: number) => Math.round(Math.min(1 + MARGIN, Math.max(-MARGIN, v)) * 10000) / 10000;
    return [lim(x), lim(y)];
  }

  // --- drawing

  private draw(): void {
    const { w, h: hh } = this.box();
    this.overlay.setAttribute('viewBox', `0 0 ${w} ${hh}`);
    const problems = zoneProblems(this.zones);
    const bad = new Set(problems.filter((p) => p.points.length || p.code === 'no-area' || p.code === 'too-few-points').map((p) => p.zone));
    const [fx, fy] = this.toPx([0, 0]);
    const [gx, gy] = this.toPx([1, 1]);
    const nodes: SVGElement[] = [svg('rect', { x: fx, y: fy, width: gx - fx, height: gy - fy, class: 'frame' })];
    this.zones.forEach((z, i) => {
      const pts = z.polygon.map((p) => this.toPx(p).join(',')).join(' ');
      const cls = `zone${i === this.selected ? ' selected' : ''}${bad.has(i) ? ' invalid' : ''}`;
      nodes.push(svg('polygon', { points: pts, class: cls, 'data-zone': i, 'data-zone-id': z.id }));
      const first = z.polygon[0];
      if (first) {
        const [lx, ly] = this.toPx(first);
        nodes.push(svg('text', { x: lx + 6, y: ly - 6, class: 'zone-label' }, z.id));
      }
    });
    const sel = this.zones[this.selected];
    if (sel && !this.drawing) {
      const n = sel.polygon.length;
      sel.polygon.forEach((p, i) => {
        const q = sel.polygon[(i + 1) % n]!;
        const [mx, my] = this.toPx([(p[0] + q[0]) / 2, (p[1] + q[1]) / 2]);
        nodes.push(svg('circle', { cx: mx, cy: my, r: 4, class: 'mid', 'data-mid': i }));
      });
      sel.polygon.forEach((p, i) => {
        const [px, py] = this.toPx(p);
        const out = p[0] < 0 || p[0] > 1 || p[1] < 0 || p[1] > 1;
        nodes.push(svg('circle', { cx: px, cy: py, r: 6, class: `vertex${i === this.selectedPoint ? ' active' : ''}${out ? ' invalid' : ''}`, 'data-vertex': i }));
      });
    }
    if (this.drawing) {
      const d = this.drawing;
      nodes.push(svg('polyline', { points: d.map((p) => this.toPx(p).join(',')).join(' '), class: 'drawing' }));
      d.forEach((p, i) => {
        const [px, py] = this.toPx(p);
        nodes.push(svg('circle', { cx: px, cy: py, r: i === 0 ? 8 : 5, class: i === 0 ? 'vertex first' : 'vertex', 'data-draw': i }));
      });
    }
    this.overlay.replaceChildren(...nodes);
    this.showProblems(problems);
  }

  private showProblems(problems: Problem[]): void {
    replace(
      this.problemsEl,
      ...problems.map((p) => {
        const z = this.zones[p.zone];
        const key = `zone.p.${p.code}`;
        const text = this.i18n.has(key) ? this.i18n.t(key, { zone: z?.id || p.zone + 1, point: (p.points[0] ?? 0) + 1, msg: p.message ?? '' }) : (p.message ?? p.code);
        return h('li', { class: 'error', 'data-code': p.code }, text);
      }),
    );
  }

  // --- pointer and keys

  private pointerDown(e: PointerEvent): void {
    const target = e.target as Element;
    const at = this.fromEvent(e);
    if (this.drawing) {
      if (target.getAttribute('data-draw') === '0' && this.drawing.length >= 3) this.finishDrawing();
      else {
        this.drawing.push(at);
        this.draw();
      }
      e.preventDefault();
      return;
    }
    const v = target.getAttribute('data-vertex');
    const m = target.getAttribute('data-mid');
    const z = target.getAttribute('data-zone');
    const sel = this.zones[this.selected];
    if (sel && v !== null) {
      this.selectedPoint = Number(v);
      this.drag = { index: Number(v), pointerId: e.pointerId };
    } else if (sel && m !== null) {
      const i = Number(m) + 1;
      sel.polygon.splice(i, 0, at);
      this.selectedPoint = i;
      this.drag = { index: i, pointerId: e.pointerId };
      this.changed();
    } else if (z !== null) {
      this.select(Number(z));
      return;
    } else return;
    this.overlay.setPointerCapture(e.pointerId);
    e.preventDefault();
    this.draw();
  }

  private pointerMove(e: PointerEvent): void {
    if (!this.drag || e.pointerId !== this.drag.pointerId) return;
    const sel = this.zones[this.selected];
    if (!sel) return;
    sel.polygon[this.drag.index] = this.fromEvent(e);
    this.changed();
  }

  private pointerUp(e: PointerEvent): void {
    if (this.drag && e.pointerId === this.drag.pointerId) {
      this.drag = undefined;
      if (this.overlay.hasPointerCapture(e.pointerId)) this.overlay.releasePointerCapture(e.pointerId);
    }
  }

  private key(e: KeyboardEvent): void {
    const tag = (e.target as HTMLElement | null)?.tagName;
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') return;
    if (this.drawing && e.key === 'Enter') this.finishDrawing();
    else if (this.drawing && e.key === 'Escape') this.cancelDrawing();
    else if (!this.drawing && (e.key === 'Delete' || e.key === 'Backspace') && this.selectedPoint >= 0) {
      e.preventDefault();
      this.deletePoint();
    }
  }

  // --- editing

  private select(i: number): void {
    this.selected = i;
    this.selectedPoint = -1;
    this.renderSide();
    this.draw();
  }

  private changed(): void {
    this.dirty = true;
    this.draw();
    const u = this.side.querySelector('.unsaved');
    if (u) (u as HTMLElement).hidden = false;
  }

  private startDrawing(): void {
    this.drawing = [];
    this.selected = -1;
    this.renderSide();
    this.draw();
  }

  private finishDrawing(): void {
    const pts = this.drawing;
    if (!pts || pts.length < 3) return;
    this.drawing = null;
    const taken = new Set(this.zones.map((z) => z.id));
    let n = this.zones.length + 1;
    while (taken.has(`zone-${n}`)) n++;
    this.zones.push({ id: `zone-${n}`, polygon: pts, rules: [] });
    this.selected = this.zones.length - 1;
    this.dirty = true;
    this.renderSide();
    this.draw();
  }

  private cancelDrawing(): void {
    this.drawing = null;
    this.renderSide();
    this.draw();
  }

  private deletePoint(): void {
    const sel = this.zones[this.selected];
    if (!sel || this.selectedPoint < 0) return;
    sel.polygon.splice(this.selectedPoint, 1);
    this.selectedPoint = -1;
    this.changed();
  }

  private deleteZone(): void {
    if (this.selected < 0) return;
    this.zones.splice(this.selected, 1);
    this.selected = Math.min(this.selected, this.zones.length - 1);
    this.dirty = true;
    this.renderSide();
    this.draw();
  }

  private renderSide(): void {
    const t = (k: Key, p?: Record<string, string | number>) => this.i18n.t(k, p);
    const a = this.answer;
    const list = h(
      'ul',
      { class: 'zone-list' },
      ...this.zones.map((z, i) => h('li', {}, h('button', { type: 'button', class: i === this.selected ? 'link active' : 'link', 'data-zone-button': z.id, onclick: () => this.select(i) }, z.id))),
    );
    const drawing = !!this.drawing;
    const tools = h(
      'div',
      { class: 'toolbar' },
      drawing
        ? h('span', {}, h('button', { type: 'button', id: 'zone-finish', onclick: () => this.finishDrawing() }, t('zone.finish')), h('button', { type: 'button', onclick: () => this.cancelDrawing() }, t('zone.cancel')))
        : h('button', { type: 'button', id: 'zone-new', onclick: () => this.startDrawing() }, t('zone.new')),
    );
    const sel = this.zones[this.selected];
    let form: HTMLElement | null = null;
    if (sel && !drawing) {
      const lang = this.i18n.lang;
      const rules = h(
        'fieldset',
        { class: 'rules' },
        h('legend', {}, t('zone.rules')),
        ...(a?.rules ?? []).map((r) =>
          h(
            'label',
            {},
            h('input', {
              type: 'checkbox',
              name: 'rule',
              value: r.id,
              checked: sel.rules.includes(r.id),
              onchange: (e: Event) => {
                const on = (e.target as HTMLInputElement).checked;
                sel.rules = on ? [...new Set([...sel.rules, r.id])] : sel.rules.filter((x) => x !== r.id);
                this.changed();
              },
            }),
            ` ${r.id}${r.title ? ` – ${r.title[lang]}` : ''}`,
          ),
        ),
      );
      const grid = h(
        'select',
        {
          id: 'zone-grid',
          onchange: (e: Event) => {
            const v = (e.target as HTMLSelectElement).value;
            if (v) sel.gridId = v;
            else delete sel.gridId;
            this.changed();
          },
        },
        h('option', { value: '' }, t('zone.cameraGrid', { code: a?.cameraGrid ?? '–' })),
        ...(a?.grids ?? []).map((g) => h('option', { value: g.code, selected: sel.gridId === g.code }, `${g.code}${g.name ? ` ${g.name}` : ''}`)),
      );
      if (sel.gridId && !(a?.grids ?? []).some((g) => g.code === sel.gridId)) grid.append(h('option', { value: sel.gridId, selected: true }, sel.gridId));
      form = h(
        'div',
        { class: 'zone-form' },
        h('label', {}, t('zone.id'), h('input', { id: 'zone-id', value: sel.id, oninput: (e: Event) => ((sel.id = (e.target as HTMLInputElement).value.trim()), this.changed(), this.refreshList()) })),
        h('label', {}, t('zone.name'), h('input', { id: 'zone-name', value: sel.name ?? '', oninput: (e: Event) => ((sel.name = (e.target as HTMLInputElement).value), this.changed()) })),
        rules,
        h('label', {}, t('zone.grid'), grid),
        h(
          'div',
          { class: 'toolbar' },
          h('button', { type: 'button', onclick: () => this.deletePoint() }, t('zone.deletePoint')),
          h('button', { type: 'button', class: 'danger', onclick: () => this.deleteZone() }, t('zone.delete')),
        ),
      );
    }
    replace(
      this.side,
      h('h3', {}, t('zone.list')),
      this.zones.length ? list : h('p', {}, t('zone.none')),
      tools,
      drawing ? h('p', { class: 'hint' }, t('zone.drawHint')) : null,
      form,
      h(
        'div',
        { class: 'toolbar save' },
        h('button', { type: 'button', id: 'zones-save', class: 'primary', onclick: () => void this.save() }, t('zone.save')),
        h('button', { type: 'button', onclick: () => void this.load() }, t('zone.revert')),
      ),
      h('p', { class: 'unsaved', hidden: !this.dirty }, t('zone.unsaved')),
      // Beside the Save button, where the eye is when saving: what is wrong, and what happened.
      this.problemsEl,
      this.messages,
    );
  }

  private refreshList(): void {
    const buttons = this.side.querySelectorAll<HTMLButtonElement>('.zone-list button');
    buttons.forEach((b, i) => (b.textContent = this.zones[i]?.id ?? ''));
  }

  private async save(): Promise<void> {
    if (this.drawing) this.finishDrawing();
    if (zoneProblems(this.zones).length) {
      this.say(this.i18n.t('zone.fixFirst'), 'error');
      return;
    }
    try {
      const r = await this.api.request<{ sha256: string }>('PUT', `/api/v1/cameras/${encodeURIComponent(this.cameraId)}/zones`, { zones: this.zones, sha256: this.answer?.sha256 });
      if (this.answer) this.answer.sha256 = r.sha256;
      this.dirty = false;
      this.renderSide();
      this.say(this.i18n.t('zone.saved'), 'ok');
    } catch (e) {
      const body = e instanceof ApiError ? e.body : {};
      const problems = Array.isArray(body.problems) ? (body.problems as Array<{ message?: string; line?: number }>).map((p) => (p.line ? `line ${p.line}: ${p.message}` : p.message)).join('; ') : '';
      this.say(this.i18n.t('zone.refused', { msg: problems || (e as Error).message }), 'error');
    }
  }
}
