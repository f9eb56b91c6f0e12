import type { GatewaySnapshot } from '../local/api/snapshot.js';
import { renderBar } from './progress.js';
import { outboxSection, sinksSection } from './status-format.js';

// `gridgate status` drawn as text: pure functions of the status API's answer, so they are tested without a terminal.

export interface RenderOptions {
  now: number;
  /** Terminal columns; lines are cut to fit. */
  width: number;
  color: boolean;
  /** The outbox draining after an outage: how much of the peak backlog has gone. */
  drain?: { peak: number; backlog: number };
  /** Shown when the last refresh failed (the view keeps the previous status). */
  error?: string;
  lang?: 'en';
}

const ESC = '\x1b[';
const paint = (on: boolean, code: string, s: string) => (on ? `${ESC}${code}m${s}${ESC}0m` : s);

/** "3s", "4m", "2h", "5d" ago. */
export function ago(iso: string | undefined, now: number): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

function uptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d}d${h}h` : h ? `${h}h${m}m` : `${m}m${s % 60}s`;
}

function value(v: unknown): string {
  return typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : String(v);
}

/** Visible length (ANSI colour codes do not count). */
function visible(s: string): number {
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}

/** Cuts a line to `width` visible characters, keeping its colour codes whole (and resetting after a cut). */
function cut(line: string, width: number): string {
  if (visible(line) <= width) return line;
  let out = '';
  let n = 0;
  for (let i = 0; i < line.length; ) {
    const esc = /^\x1b\[[0-9;]*m/.exec(line.slice(i));
    if (esc) {
      out += esc[0];
      i += esc[0].length;
      continue;
    }
    if (n === width - 1) break;
    out += line[i++];
    n++;
  }
  return `${out}…${line.includes('\x1b[') ? `${ESC}0m` : ''}`;
}

/** Follows the backlog between refreshes: a falling backlog after a peak is an outbox draining. */
export class DrainTracker {
  private peak = 0;

  update(backlog: number): { peak: number; backlog: number } | undefined {
    if (backlog <= 0) {
      this.peak = 0;
      return undefined;
    }
    if (backlog > this.peak) this.peak = backlog;
    return backlog < this.peak ? { peak: this.peak, backlog } : undefined;
  }
}

export function renderStatus(s: GatewaySnapshot, o: RenderOptions): string {
  const c = o.color;
  const lines: string[] = [];
  const up = s.uplink.connected ? paint(c, '32', '● connected') : paint(c, '31', '○ disconnected');
  const clock = new Date(o.now).toTimeString().slice(0, 8);
  lines.push(`${paint(c, '1', s.gatewayId)}  v${s.version}  up ${uptime(s.uptimeS)}  uplink ${up} ${s.uplink.url}  ${clock}`);
  if (s.uplink.lastError && !s.uplink.connected) lines.push(`  ${paint(c, '31', `uplink error: ${s.uplink.lastError}`)}`);
  lines.push(...outboxSection(s, o.now), ...sinksSection(s));
  if (o.drain) lines.push(`  ${renderBar({ label: 'draining', done: o.drain.peak - o.drain.backlog, total: o.drain.peak, detail: `${o.drain.backlog} left` })}`);
  if (o.error) lines.push(paint(c, '33', `! ${o.error} (showing the last status)`));
  lines.push('');

  const online = s.devices.filter((d) => d.online === true).length;
  const offline = s.devices.filter((d) => d.online === false).length;
  lines.push(paint(c, '1', `DEVICES  ${s.devices.length} (${online} online, ${offline} offline)`));
  const idW = Math.min(24, Math.max(6, ...s.devices.map((d) => d.id.length)));
  for (const d of s.devices) {
    const st = d.online === true ? paint(c, '32', 'online ') : d.online === false ? paint(c, '31', 'offline') : paint(c, '2', 'unseen ');
    const vals = Object.entries(d.metrics)
      .map(([k, m]) => `${k}=${value(m.value)}${m.unit ? ` ${m.unit}` : ''}`)
      .join('  ');
    lines.push(`  ${d.id.padEnd(idW)} ${st} ${ago(d.lastSeen, o.now).padEnd(9)} ${vals}`);
  }
  lines.push('');

  const unacked = s.alarms.filter((a) => !a.acknowledged).length;
  lines.push(paint(c, '1', `ALARMS  ${s.alarms.length} active, ${unacked} not acknowledged`));
  for (const a of s.alarms) {
    const sev = a.severity === 'critical' || a.severity === 'major' ? paint(c, '31', a.severity.padEnd(8)) : a.severity.padEnd(8);
    lines.push(`  ${sev} ${a.deviceId.padEnd(idW)} ${a.rule}  ${a.title.en}  since ${ago(a.raisedAt, o.now)}${a.acknowledged ? '  (acknowledged)' : ''}`);
  }
  const cams = s.cameras ?? [];
  if (cams.length) {
    lines.push('');
    lines.push(paint(c, '1', `CAMERAS  ${cams.length} (${cams.filter((x) => x.online).length} online)`));
    for (const cam of cams) {
      const st = cam.online ? paint(c, '32', cam.state) : paint(c, '31', cam.state);
      lines.push(`  ${cam.id.padEnd(idW)} ${st}  last frame ${ago(cam.lastFrameAt, o.now)}${cam.problem ? `  ${cam.problem.message}` : ''}`);
    }
  }
  if (s.sources.length) {
    lines.push('');
    lines.push(paint(c, '1', 'SOURCES'));
    for (const src of s.sources) lines.push(`  ${src.kind} ${src.id}: ${src.connected ? 'connected' : paint(c, '31', 'disconnected')}`);
  }
  return lines.map((l) => cut(l, o.width)).join('\n') + '\n';
}
