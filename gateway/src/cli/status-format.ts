import type { GatewaySnapshot } from '../runtime/snapshot.js';

// Pure formatting of a status snapshot for a terminal. Each section is its own function so a live view
// can lay them out differently (progress bars, refresh) from the same data.

export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function humanDuration(s: number): string {
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

const n = (x: number) => x.toLocaleString('en-US');

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => '  ' + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

export function gatewaySection(s: GatewaySnapshot): string[] {
  return [`gateway  ${s.gatewayId}  version ${s.version}  up ${humanDuration(s.uptimeS)}`];
}

export function uplinkSection(s: GatewaySnapshot): string[] {
  const u = s.uplink;
  return [`uplink   ${u.connected ? 'connected' : 'DISCONNECTED'}  ${u.url}${!u.connected && u.lastError ? `  (last error: ${u.lastError})` : ''}`];
}

export function outboxSection(s: GatewaySnapshot, now: number): string[] {
  const o = s.outbox;
  const oldest = o.oldestAt ? `, oldest waiting ${humanDuration((now - Date.parse(o.oldestAt)) / 1000)}` : '';
  const pct = o.quotaBytes ? ` (${((o.bytes / o.quotaBytes) * 100).toFixed(1)}%)` : '';
  return [
    `backlog  ${n(o.backlog)} message(s) for the central broker (priority ${n(o.lanes.priority)}, telemetry ${n(o.lanes.telemetry)})${oldest}; ${n(o.inflight)} in flight`,
    `quota    ${humanBytes(o.bytes)} of ${humanBytes(o.quotaBytes)}${pct}; telemetry kept ${humanDuration(o.ttlS)}, thinning keeps 1 in ${o.keepEvery} per device; durability ${o.synchronous}, order ${o.order}`,
    `removed  telemetry thinned ${n(o.thinned)}, expired ${n(o.expired)}, dropped ${n(o.dropped)} (alarms and reports are never removed)`,
  ];
}

export function sinksSection(s: GatewaySnapshot): string[] {
  const i = s.sinks?.influx;
  const out: string[] = [];
  if (i) out.push(`influx   ${i.state === 'ok' ? 'ok' : 'RETRYING'}  ${i.url} bucket ${i.bucket}: backlog ${n(i.backlog)}, written ${n(i.written)}${i.lastError ? `  (last error: ${i.lastError})` : ''}`);
  const h = s.history;
  if (h) out.push(`history  ${n(h.series)} series, ${humanBytes(h.bytes)}; raw ${h.rawRetentionH} h, 1-minute means ${h.minuteRetentionD} d`);
  return out;
}

export function devicesSection(s: GatewaySnapshot, now: number): string[] {
  const online = s.devices.filter((d) => d.online === true).length;
  const offline = s.devices.filter((d) => d.online === false).length;
  const out = [`devices  ${s.devices.length} (${online} online, ${offline} offline, ${s.devices.length - online - offline} not heard from)`];
  if (!s.devices.length) return out;
  const rows = [['DEVICE', 'PROFILE', 'GRID', 'STATE', 'LAST SEEN', 'REJECTED']];
  for (const d of s.devices) {
    const rejected = Object.values(d.rejects).reduce<number>((a, b) => a + (b ?? 0), 0);
    rows.push([d.id, d.profile, d.gridId, d.online === undefined ? '-' : d.online ? 'online' : 'OFFLINE', d.lastSeen ? `${humanDuration((now - Date.parse(d.lastSeen)) / 1000)} ago` : 'never', rejected ? String(rejected) : '']);
  }
  return out.concat(table(rows));
}

export function alarmsSection(s: GatewaySnapshot, now: number): string[] {
  const out = [`alarms   ${s.alarms.length} active`];
  if (!s.alarms.length) return out;
  const rows = [['SEVERITY', 'DEVICE', 'RULE', 'FOR', 'ACK', 'TITLE']];
  for (const a of s.alarms) rows.push([a.severity, a.deviceId, a.rule, humanDuration((now - Date.parse(a.raisedAt)) / 1000), a.acknowledged ? 'yes' : 'no', a.title.en]);
  return out.concat(table(rows));
}

/** The whole status as text. */
export function formatStatus(s: GatewaySnapshot, now: number = Date.now()): string {
  return [...gatewaySection(s), ...uplinkSection(s), ...outboxSection(s, now), ...sinksSection(s), ...devicesSection(s, now), ...alarmsSection(s, now)].join('\n') + '\n';
}
