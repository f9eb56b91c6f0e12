import { Api, ApiError, type SessionState } from './api.js';
import { lineChart, toSeries } from './chart.js';
import { fmtBytes, fmtDuration, fmtTime, h, replace } from './dom.js';
import { I18n, initialLang, type Key, type Lang } from './i18n.js';
import type { AlarmView, CameraView, DeviceView, EvidenceView, Metric, StatusView, SystemView } from './types.js';
import { ZoneEditor } from './zone-editor.js';

// The console's single page: a login form, then a hash-routed view per section (#/dashboard, #/devices,
// #/devices/:id, #/cameras, #/cameras/:id, #/reports, #/reports/:id, #/config). Views poll the gateway's API.

const POLL_MS = 2000;

interface View {
  el: HTMLElement;
  refresh?: () => Promise<void>;
  destroy?: () => void;
}

class ConsoleApp {
  private readonly api = new Api();
  private readonly i18n: I18n;
  private readonly root: HTMLElement;
  private view?: View;
  private timer?: number;
  private session?: SessionState;
  private readonly banner = h('div', { class: 'banner', hidden: true });

  constructor(root: HTMLElement) {
    this.root = root;
    this.i18n = new I18n(initialLang(localStorage.getItem('gg.lang'), navigator.languages ?? [navigator.language]));
    this.api.onUnauthorized = () => void this.sessionLost();
    window.addEventListener('hashchange', () => void this.route());
  }

  private t(k: Key, p?: Record<string, string | number>): string {
    return this.i18n.t(k, p);
  }

  async start(): Promise<void> {
    document.documentElement.lang = this.i18n.lang === 'zh' ? 'zh-CN' : 'en';
    let s: SessionState;
    try {
      s = await this.api.session();
    } catch (e) {
      replace(this.root, h('p', { class: 'msg error' }, this.t('common.error', { msg: (e as Error).message })));
      return;
    }
    this.session = s;
    if (!s.loggedIn) return this.showLogin(s.reason === 'expired' ? 'expired' : undefined);
    this.api.csrf = s.csrf;
    this.showShell();
  }

  private async sessionLost(): Promise<void> {
    if (!this.session?.loggedIn) return;
    this.stopView();
    let s: SessionState | undefined;
    try {
      s = await this.api.session();
    } catch {
      s = undefined;
    }
    this.session = s ?? { enabled: true, passwordSet: true, loggedIn: false };
    this.showLogin('expired');
  }

  private setLang(l: Lang): void {
    localStorage.setItem('gg.lang', l);
    this.i18n.lang = l;
    document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  }

  private langButton(after: () => void): HTMLElement {
    return h('button', { type: 'button', class: 'link lang', id: 'lang-toggle', onclick: () => (this.setLang(this.i18n.lang === 'zh' ? 'en' : 'zh'), after()) }, this.t('nav.lang'));
  }

  // --- login

  private showLogin(why?: 'expired', message?: { text: string; kind: string }): void {
    this.stopView();
    const s = this.session;
    const msg = h('div', { class: 'login-msg', 'aria-live': 'polite' });
    const show = (text: string, kind = 'error') => replace(msg, h('p', { class: `msg ${kind}`, id: 'login-message' }, text));
    if (message) show(message.text, message.kind);
    else if (why === 'expired') show(this.t('login.expired'), 'info');
    else if (s && !s.enabled) show(this.t('login.disabled'));
    else if (s && !s.passwordSet) show(this.t('login.noPassword'));
    const pw = h('input', { type: 'password', id: 'password', name: 'password', autocomplete: 'current-password', required: true });
    const form = h(
      'form',
      {
        class: 'login',
        onsubmit: (e: Event) => {
          e.preventDefault();
          void submit();
        },
      },
      h('h1', {}, s?.gatewayId ? this.t('login.title', { id: s.gatewayId }) : this.t('login.titleAny')),
      h('label', {}, this.t('login.user'), h('input', { value: 'admin', disabled: true })),
      h('label', {}, this.t('login.password'), pw),
      h('button', { type: 'submit', class: 'primary', id: 'login-submit' }, this.t('login.submit')),
      msg,
    );
    const submit = async () => {
      try {
        const r = await this.api.login(pw.value);
        this.session = { ...(this.session ?? { enabled: true, passwordSet: true }), ...r, loggedIn: true };
        if (!location.hash || location.hash === '#/') location.hash = '#/dashboard';
        this.showShell();
      } catch (e) {
        pw.value = '';
        const b = e instanceof ApiError ? e.body : {};
        if (b.code === 'wrong-password') show(this.t('login.wrong', { n: Number(b.remaining ?? 0) }));
        else if (b.code === 'rate-limited') show(this.t('login.rateLimited', { s: Number(b.retryAfterS ?? 0) }));
        else if (b.code === 'no-password') show(this.t('login.noPassword'));
        else if (b.code === 'disabled') show(this.t('login.disabled'));
        else show(this.t('login.failed', { msg: (e as Error).message }));
      }
    };
    replace(this.root, h('div', { class: 'login-page' }, h('div', { class: 'topright' }, this.langButton(() => this.showLogin(why))), form));
    pw.focus();
  }

  // --- shell and routing

  private readonly content = h('main', { id: 'content' });

  private showShell(): void {
    const nav = h(
      'nav',
      {},
      h('span', { class: 'brand' }, this.session?.gatewayId ?? 'GridGate'),
      ...(['dashboard', 'devices', 'cameras', 'reports', 'config'] as const).map((s) => h('a', { href: `#/${s}`, 'data-nav': s }, this.t(`nav.${s}`))),
      h('span', { class: 'spacer' }),
      this.langButton(() => this.showShell()),
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          id: 'logout',
          onclick: async () => {
            await this.api.logout();
            this.session = { ...(this.session ?? { enabled: true, passwordSet: true }), loggedIn: false };
            this.showLogin();
          },
        },
        this.t('nav.logout'),
      ),
    );
    replace(this.root, h('header', {}, nav), this.banner, this.content);
    void this.route();
  }

  private stopView(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.view?.destroy?.();
    this.view = undefined;
  }

  private async route(): Promise<void> {
    if (!this.session?.loggedIn) return;
    this.stopView();
    const parts = (location.hash.replace(/^#\/?/, '') || 'dashboard').split('/').map(decodeURIComponent);
    const [section, id] = parts as [string, string | undefined];
    for (const a of this.root.querySelectorAll('nav a')) a.classList.toggle('active', a.getAttribute('data-nav') === section);
    const view =
      section === 'devices' && id
        ? this.deviceView(id)
        : section === 'devices'
          ? this.devicesView()
          : section === 'cameras' && id
            ? this.cameraView(id)
            : section === 'cameras'
              ? this.camerasView()
              : section === 'reports' && id
                ? this.reportView(id)
                : section === 'reports'
                  ? this.reportsView()
                  : section === 'config'
                    ? this.configView()
                    : this.dashboardView();
    this.view = view;
    replace(this.content, view.el);
    if (view.refresh) {
      const tick = async () => {
        try {
          await view.refresh!();
          this.banner.hidden = true;
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) return;
          this.banner.textContent = e instanceof ApiError ? this.t('common.error', { msg: e.message }) : this.t('common.offlineApi');
          this.banner.hidden = false;
        }
      };
      await tick();
      if (this.view === view) this.timer = window.setInterval(() => void tick(), POLL_MS);
    }
  }

  // --- views

  private status(): Promise<StatusView> {
    return this.api.get<StatusView>('/api/v1/status');
  }

  private dashboardView(): View {
    const el = h('section', { class: 'dashboard' }, h('p', {}, this.t('common.loading')));
    const card = (title: string, ...rows: Array<[string, string | HTMLElement]>) =>
      h('div', { class: 'card' }, h('h3', {}, title), h('dl', {}, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
    return {
      el,
      refresh: async () => {
        const [s, sys] = await Promise.all([this.status(), this.api.get<SystemView>('/api/v1/system').catch(() => undefined)]);
        const online = s.devices.filter((d) => d.online === true).length;
        const offline = s.devices.filter((d) => d.online === false).length;
        const unacked = s.alarms.filter((a) => !a.acknowledged).length;
        const camsOnline = (s.cameras ?? []).filter((c) => c.online).length;
        const healthy = s.uplink.connected && offline === 0 && unacked === 0;
        const outboxRows = Object.entries(s.outbox)
          .filter(([, v]) => typeof v === 'number')
          .map(([k, v]) => [k, String(v)] as [string, string]);
        replace(
          el,
          h('div', { class: `health ${healthy ? 'ok' : 'warn'}`, id: 'health' }, `${this.t('dash.health')}: ${this.t(healthy ? 'dash.healthy' : 'dash.degraded')}`),
          h(
            'div',
            { class: 'cards' },
            card(this.t('dash.gateway'), [this.t('dash.gateway'), s.gatewayId], [this.t('dash.version'), s.version], [this.t('dash.uptime'), fmtDuration(s.uptimeS)]),
            card(
              this.t('dash.uplink'),
              [this.t('dash.uplink'), h('span', { class: s.uplink.connected ? 'ok' : 'bad', id: 'uplink-state' }, this.t(s.uplink.connected ? 'dash.connected' : 'dash.disconnected'))],
              ['URL', s.uplink.url],
              ...(s.uplink.lastError ? [[this.t('dash.lastError'), s.uplink.lastError] as [string, string]] : []),
            ),
            card(this.t('dash.backlog'), ...outboxRows),
            sys
              ? card(
                  this.t('dash.system'),
                  [this.t('dash.cpu'), sys.cpu.usagePct !== undefined ? `${sys.cpu.usagePct} % (${sys.cpu.cores})` : `– (${sys.cpu.cores})`],
                  [this.t('dash.load'), String(sys.cpu.load1)],
                  [this.t('dash.ram'), `${sys.memory.usedPct} % / ${fmtBytes(sys.memory.totalBytes)}`],
                  [this.t('dash.rss'), fmtBytes(sys.memory.gatewayRssBytes)],
                  ...(sys.disk ? [[this.t('dash.disk'), `${fmtBytes(sys.disk.availableBytes)} / ${fmtBytes(sys.disk.totalBytes)}`] as [string, string]] : []),
                )
              : null,
            card(this.t('dash.devices'), [this.t('dash.devices'), String(s.devices.length)], ['', this.t('dash.online', { n: online })], ['', this.t('dash.offline', { n: offline })]),
            card(this.t('dash.alarms'), [this.t('dash.alarms'), String(s.alarms.length)], ['', this.t('dash.unacked', { n: unacked })]),
            card(this.t('dash.cameras'), [this.t('dash.cameras'), String((s.cameras ?? []).length)], ['', this.t('dash.online', { n: camsOnline })]),
          ),
          h('h3', {}, this.t('dash.counters')),
          h('table', { class: 'counters' }, h('tbody', {}, ...Object.entries(s.counters).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, String(v)))))),
        );
      },
    };
  }

  private metricText(m: Metric | undefined): string {
    if (!m) return '–';
    const v = typeof m.value === 'number' ? String(Math.round(m.value * 1000) / 1000) : String(m.value);
    return m.unit ? `${v} ${m.unit}` : v;
  }

  private alarmsTable(alarms: AlarmView[], msg: HTMLElement): HTMLElement {
    if (!alarms.length) return h('p', { class: 'none' }, this.t('alarm.none'));
    const lang = this.i18n.lang;
    return h(
      'table',
      { class: 'alarms' },
      h('thead', {}, h('tr', {}, ...(['alarm.device', 'alarm.rule', 'alarm.severity', 'alarm.raised', 'alarm.state', 'alarm.ack'] as const).map((k) => h('th', {}, this.t(k))))),
      h(
        'tbody',
        {},
        ...alarms.map((a) =>
          h(
            'tr',
            { 'data-alarm': a.alarmId, 'data-device': a.deviceId, 'data-rule': a.rule },
            h('td', {}, h('a', { href: `#/devices/${encodeURIComponent(a.deviceId)}` }, a.deviceId)),
            h('td', {}, a.title[lang] ?? a.rule),
            h('td', { class: `sev ${a.severity}` }, a.severity),
            h('td', {}, fmtTime(a.raisedAt)),
            h('td', { class: 'alarm-state' }, this.t(a.acknowledged ? 'alarm.acked' : 'alarm.open')),
            h(
              'td',
              {},
              a.acknowledged
                ? ''
                : h(
                    'button',
                    {
                      type: 'button',
                      class: 'ack',
                      onclick: async (e: Event) => {
                        (e.target as HTMLButtonElement).disabled = true;
                        try {
                          await this.api.request('POST', `/api/v1/alarms/${encodeURIComponent(a.alarmId)}/ack`, { by: 'console:admin' });
                          replace(msg, h('p', { class: 'msg ok' }, this.t('alarm.ackDone', { id: a.alarmId })));
                          await this.view?.refresh?.();
                        } catch (err) {
                          replace(msg, h('p', { class: 'msg error' }, this.t('common.error', { msg: (err as Error).message })));
                        }
                      },
                    },
                    this.t('alarm.ack'),
                  ),
            ),
          ),
        ),
      ),
    );
  }

  private devicesView(): View {
    const alarmsBox = h('div', { id: 'alarms' });
    const msg = h('div', { class: 'messages', 'aria-live': 'polite' });
    const table = h('div', { id: 'devices' }, this.t('common.loading'));
    const el = h('section', {}, h('h2', {}, this.t('alarm.title')), msg, alarmsBox, h('h2', {}, this.t('dev.title')), table);
    return {
      el,
      refresh: async () => {
        const s = await this.status();
        replace(alarmsBox, this.alarmsTable(s.alarms, msg));
        replace(
          table,
          h(
            'table',
            { class: 'devices' },
            h('thead', {}, h('tr', {}, ...(['dev.id', 'dev.name', 'dev.profile', 'dev.grid', 'dev.state', 'dev.lastSeen', 'dev.values'] as const).map((k) => h('th', {}, this.t(k))))),
            h('tbody', {}, ...s.devices.map((d) => this.deviceRow(d))),
          ),
        );
      },
    };
  }

  private deviceRow(d: DeviceView): HTMLElement {
    const state = d.online === true ? 'online' : d.online === false ? 'offline' : 'unknown';
    return h(
      'tr',
      { 'data-device': d.id },
      h('td', {}, h('a', { href: `#/devices/${encodeURIComponent(d.id)}` }, d.id)),
      h('td', {}, d.name ?? ''),
      h('td', {}, d.profile),
      h('td', {}, d.gridId),
      h('td', { class: `state ${state}` }, this.t(`dev.${state}` as Key)),
      h('td', {}, fmtTime(d.lastSeen)),
      h('td', { class: 'values' }, ...Object.entries(d.metrics).map(([k, m]) => h('span', { class: 'metric', 'data-metric': k }, h('b', {}, k), ' ', h('span', { class: 'v' }, this.metricText(m))))),
    );
  }

  private deviceView(id: string): View {
    const head = h('div', {});
    const values = h('div', { id: 'device-values' });
    const msg = h('div', { class: 'messages', 'aria-live': 'polite' });
    const alarms = h('div', {});
    const history = h('div', { id: 'history' }, this.t('common.loading'));
    const ranges: Array<[string, number, string | undefined]> = [
      ['1h', 3600_000, undefined],
      ['6h', 6 * 3600_000, '5m'],
      ['24h', 24 * 3600_000, '15m'],
      ['7d', 7 * 86400_000, '1h'],
    ];
    let range = ranges[0]!;
    const loadHistory = async () => {
      const to = Date.now();
      const from = to - range[1];
      const q = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), ...(range[2] && { step: range[2] }) });
      try {
        const r = await this.api.get<unknown>(`/api/v1/devices/${encodeURIComponent(id)}/metrics?${q}`);
        const series = toSeries(r).filter((s) => s.points.length);
        replace(history, ...(series.length ? series.map((s) => lineChart(s, from, to)) : [h('p', { class: 'none' }, this.t('dev.noPoints'))]));
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) replace(history, h('p', { class: 'none', id: 'no-history' }, this.t('dev.noHistory')));
        else replace(history, h('p', { class: 'msg error' }, this.t('common.error', { msg: (e as Error).message })));
      }
    };
    const rangeBar = h(
      'div',
      { class: 'toolbar' },
      ...ranges.map((r) =>
        h(
          'button',
          {
            type: 'button',
            class: 'range',
            onclick: () => {
              range = r;
              void loadHistory();
            },
          },
          r[0],
        ),
      ),
    );
    const el = h('section', {}, h('a', { href: '#/devices' }, this.t('dev.back')), head, h('h3', {}, this.t('dev.values')), values, h('h3', {}, this.t('alarm.title')), msg, alarms, h('h3', {}, this.t('dev.history')), rangeBar, history);
    void loadHistory();
    let n = 0;
    return {
      el,
      refresh: async () => {
        const s = await this.status();
        const d = s.devices.find((x) => x.id === id);
        if (!d) {
          replace(head, h('p', { class: 'msg error' }, `no device ${id}`));
          return;
        }
        const state = d.online === true ? 'online' : d.online === false ? 'offline' : 'unknown';
        replace(
          head,
          h('h2', {}, d.name ? `${d.id} · ${d.name}` : d.id),
          h('p', {}, `${d.profile} · ${this.t('dev.grid')} ${d.gridId} · `, h('span', { class: `state ${state}` }, this.t(`dev.${state}` as Key)), ` · ${this.t('dev.lastSeen')} ${fmtTime(d.lastSeen)}`),
          d.lastReject ? h('p', { class: 'msg error' }, `${this.t('dev.lastReject')}: ${fmtTime(d.lastReject.at)} ${d.lastReject.reason}: ${d.lastReject.detail}`) : null,
        );
        replace(
          values,
          h(
            'table',
            { class: 'values-table', 'data-device': d.id },
            h('thead', {}, h('tr', {}, h('th', {}, this.t('dev.metric')), h('th', {}, this.t('dev.value')))),
            h('tbody', {}, ...Object.entries(d.metrics).map(([k, m]) => h('tr', { 'data-metric': k }, h('th', {}, k), h('td', { class: 'v' }, this.metricText(m))))),
          ),
        );
        replace(alarms, this.alarmsTable(s.alarms.filter((a) => a.deviceId === id), msg));
        // The chart follows along, less often than the values.
        if (++n % 15 === 0) void loadHistory();
      },
    };
  }

  private camerasView(): View {
    const box = h('div', { id: 'cameras' }, this.t('common.loading'));
    return {
      el: h('section', {}, h('h2', {}, this.t('cam.title')), box),
      refresh: async () => {
        const cams = await this.api.get<CameraView[]>('/api/v1/cameras');
        if (!cams.length) return replace(box, h('p', { class: 'none' }, this.t('cam.none')));
        replace(
          box,
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ...(['cam.id', 'dev.grid', 'cam.state', 'cam.lastFrame', 'cam.problem', 'cam.open'] as const).map((k) => h('th', {}, this.t(k))))),
            h(
              'tbody',
              {},
              ...cams.map((c) =>
                h(
                  'tr',
                  { 'data-camera': c.id },
                  h('td', {}, c.name ? `${c.id} · ${c.name}` : c.id),
                  h('td', {}, c.gridId),
                  h('td', { class: `state ${c.online ? 'online' : 'offline'}` }, c.state),
                  h('td', {}, fmtTime(c.lastFrameAt)),
                  h('td', {}, c.problem?.message ?? ''),
                  h('td', {}, h('a', { href: `#/cameras/${encodeURIComponent(c.id)}`, class: 'button' }, this.t('cam.open'))),
                ),
              ),
            ),
          ),
        );
      },
    };
  }

  private cameraView(id: string): View {
    const el = h('section', {}, h('a', { href: '#/cameras' }, this.t('cam.title')), h('p', {}, this.t('common.loading')));
    let editor: ZoneEditor | undefined;
    void (async () => {
      try {
        const cams = await this.api.get<CameraView[]>('/api/v1/cameras');
        const cam = cams.find((c) => c.id === id);
        editor = new ZoneEditor(this.api, this.i18n, id, cam?.stream);
        replace(el, h('a', { href: '#/cameras' }, `← ${this.t('cam.title')}`), editor.el);
        await editor.load();
        if (cam?.online) await editor.snapshot();
      } catch (e) {
        replace(el, h('a', { href: '#/cameras' }, `← ${this.t('cam.title')}`), h('p', { class: 'msg error' }, this.t('common.error', { msg: (e as Error).message })));
      }
    })();
    return { el, destroy: () => editor?.destroy() };
  }

  private reportsView(): View {
    const box = h('div', { id: 'reports' }, this.t('common.loading'));
    interface Summary {
      reportId: string;
      status: string;
      gridId: string;
      category: { code: string; name: { zh: string; en: string } };
      source: { kind: string; id?: string; deviceId?: string; cameraId?: string };
      firstSeen: string;
      caseId?: string;
      caseStatus?: string;
    }
    const table = (list: Summary[]) =>
      list.length
        ? h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ...(['rep.id', 'rep.status', 'rep.category', 'rep.grid', 'rep.source', 'rep.firstSeen', 'rep.case'] as const).map((k) => h('th', {}, this.t(k))))),
            h(
              'tbody',
              {},
              ...list.map((r) =>
                h(
                  'tr',
                  { 'data-report': r.reportId },
                  h('td', {}, h('a', { href: `#/reports/${encodeURIComponent(r.reportId)}` }, r.reportId.slice(0, 13) + '…')),
                  h('td', {}, r.status),
                  h('td', {}, `${r.category.code} ${r.category.name[this.i18n.lang]}`),
                  h('td', {}, r.gridId),
                  h('td', {}, `${r.source.kind} ${r.source.deviceId ?? r.source.cameraId ?? r.source.id ?? ''}`),
                  h('td', {}, fmtTime(r.firstSeen)),
                  h('td', {}, r.caseId ? `${r.caseId}${r.caseStatus ? ` (${r.caseStatus})` : ''}` : ''),
                ),
              ),
            ),
          )
        : h('p', { class: 'none' }, this.t('rep.none'));
    return {
      el: h('section', {}, h('h2', {}, this.t('rep.title')), box),
      refresh: async () => {
        let r: { open: Summary[]; recent: Summary[]; refused?: unknown[] };
        try {
          r = await this.api.get('/api/v1/reports');
        } catch (e) {
          if (e instanceof ApiError && e.status === 404) return replace(box, h('p', { class: 'none' }, this.t('rep.off')));
          throw e;
        }
        const openIds = new Set(r.open.map((x) => x.reportId));
        replace(
          box,
          h('h3', {}, `${this.t('rep.open')} (${r.open.length})`),
          table(r.open),
          h('h3', {}, this.t('rep.recent')),
          table(r.recent.filter((x) => !openIds.has(x.reportId))),
          r.refused && r.refused.length ? h('div', {}, h('h3', {}, this.t('rep.refused')), h('pre', {}, JSON.stringify(r.refused, null, 2))) : null,
        );
      },
    };
  }

  private reportView(id: string): View {
    const box = h('div', {}, this.t('common.loading'));
    const el = h('section', {}, h('a', { href: '#/reports' }, this.t('rep.back')), box);
    return {
      el,
      refresh: async () => {
        const r = await this.api.get<{ status: string; caseId?: string; caseStatus?: string; report: { description?: { zh: string; en: string }; evidence?: EvidenceView[] } & Record<string, unknown> }>(`/api/v1/reports/${encodeURIComponent(id)}`);
        const ev = r.report.evidence ?? [];
        replace(
          box,
          h('h2', {}, id),
          h('p', {}, `${this.t('rep.status')}: ${r.status}${r.caseId ? ` · ${this.t('rep.case')} ${r.caseId} ${r.caseStatus ?? ''}` : ''}`),
          r.report.description ? h('p', { class: 'description' }, r.report.description[this.i18n.lang]) : null,
          h('h3', {}, this.t('rep.evidence')),
          ev.length
            ? h(
                'ul',
                { class: 'evidence' },
                ...ev.map((e) =>
                  h(
                    'li',
                    {},
                    e.ref.endsWith('.jpg') ? h('img', { src: `/api/v1/${e.ref}`, alt: e.kind, class: 'evidence-img' }) : null,
                    h('a', { href: `/api/v1/${e.ref}`, target: '_blank', rel: 'noopener' }, `${e.kind}: ${e.ref}`),
                    e.sha256 ? h('code', {}, ` sha256 ${e.sha256.slice(0, 16)}…`) : null,
                  ),
                ),
              )
            : h('p', { class: 'none' }, this.t('common.none')),
          h('details', {}, h('summary', {}, 'JSON'), h('pre', {}, JSON.stringify(r.report, null, 2))),
        );
      },
    };
  }

  private configView(): View {
    const area = h('textarea', { id: 'config-text', spellcheck: 'false', rows: 30, wrap: 'off' });
    const fileEl = h('p', { class: 'file' });
    const msg = h('div', { id: 'config-messages', 'aria-live': 'polite' });
    let base = '';
    let original = '';
    const load = async () => {
      const r = await this.api.get<{ file: string; text: string; sha256: string }>('/api/v1/config');
      base = r.sha256;
      original = r.text;
      area.value = r.text;
      fileEl.textContent = `${this.t('cfg.file')}: ${r.file}`;
      replace(msg);
    };
    const goto = (line: number) => {
      const lines = area.value.split('\n');
      const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
      area.focus();
      area.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    };
    const problems = (list: Array<{ line: number; path: string; message: string }>, head: string) =>
      replace(
        msg,
        h('p', { class: 'msg error' }, head),
        h('ul', { class: 'problems' }, ...list.map((p) => h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => goto(p.line) }, `line ${p.line}`), `: ${p.path || '(root)'}: ${p.message}`))),
      );
    const validate = async () => {
      const r = await this.api.request<{ ok: boolean; problems: Array<{ line: number; path: string; message: string }> }>('POST', '/api/v1/config/validate', { text: area.value });
      if (r.ok) replace(msg, h('p', { class: 'msg ok' }, this.t('cfg.valid')));
      else problems(r.problems, this.t('cfg.invalid'));
    };
    const save = async () => {
      try {
        const r = await this.api.request<{ sha256: string }>('PUT', '/api/v1/config', { text: area.value, sha256: base });
        base = r.sha256;
        original = area.value;
        replace(msg, h('p', { class: 'msg ok' }, this.t('cfg.saved')));
      } catch (e) {
        const b = e instanceof ApiError ? e.body : {};
        if (b.code === 'invalid' && Array.isArray(b.problems)) problems(b.problems as Array<{ line: number; path: string; message: string }>, this.t('cfg.invalid'));
        else if (b.code === 'changed') replace(msg, h('p', { class: 'msg error' }, this.t('cfg.changed')));
        else replace(msg, h('p', { class: 'msg error' }, this.t('common.error', { msg: (e as Error).message })));
      }
    };
    const el = h(
      'section',
      { class: 'config' },
      h('h2', {}, this.t('cfg.title')),
      fileEl,
      h('p', { class: 'hint' }, this.t('cfg.redacted')),
      h(
        'div',
        { class: 'toolbar' },
        h('button', { type: 'button', id: 'config-validate', onclick: () => void validate().catch((e: Error) => replace(msg, h('p', { class: 'msg error' }, e.message))) }, this.t('cfg.validate')),
        h('button', { type: 'button', id: 'config-save', class: 'primary', onclick: () => void save() }, this.t('cfg.save')),
        h('button', { type: 'button', onclick: () => ((area.value = original), replace(msg)) }, this.t('cfg.revert')),
      ),
      msg,
      area,
    );
    void load().catch((e: Error) => replace(msg, h('p', { class: 'msg error' }, this.t('common.error', { msg: e.message }))));
    return { el };
  }
}

void new ConsoleApp(document.getElementById('app')!).start();
