import { SYNC_BUCKETS_S, syncQuantile } from '../northbound/outbox/sync-times.js';
import type { GatewaySnapshot } from '../local/api/snapshot.js';

// The durability lines of `gridgate status` (outbox lanes, quota, TTL, what was removed; history and sinks):
// pure functions of the status API's answer, used by the view in status-view.ts.

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

export function outboxSection(s: GatewaySnapshot, now: number): string[] {
  const o = s.outbox;
  const oldest = o.oldestAt ? `, oldest waiting ${humanDuration((now - Date.parse(o.oldestAt)) / 1000)}` : '';
  const pct = o.quotaBytes ? ` (${((o.bytes / o.quotaBytes) * 100).toFixed(1)}%)` : '';
  return [
    `backlog  ${n(o.backlog)} message(s) for the central broker (priority ${n(o.lanes.priority)}, telemetry ${n(o.lanes.telemetry)})${oldest}; ${n(o.inflight)} in flight`,
    `quota    ${humanBytes(o.bytes)} of ${humanBytes(o.quotaBytes)}${pct}; telemetry kept ${humanDuration(o.ttlS)}, thinning keeps 1 in ${o.keepEvery} per device; durability ${o.synchronous}, order ${o.order}`,
    `removed  telemetry thinned ${n(o.thinned)}, expired ${n(o.expired)}, dropped ${n(o.dropped)} (alarms and reports are never removed)`,
    ...walSyncLine(o.walSync),
  ];
}

/** A WAL sync quantile (the bound of its bucket, seconds; see `syncQuantile`) as text: "≤ 2 ms", "> 5 s", "-" for none. */
export function syncBoundText(s: number | undefined): string {
  if (s === undefined) return '-';
  const text = (x: number) => (x < 1 ? `${x * 1000} ms` : `${x} s`);
  return s === Infinity ? `> ${text(SYNC_BUCKETS_S[SYNC_BUCKETS_S.length - 1]!)}` : `≤ ${text(s)}`;
}

/** At FULL: how long the WAL syncs take, which every acknowledgement waits for (slow ones point at a wearing SD card). */
export function walSyncLine(w: GatewaySnapshot['outbox']['walSync']): string[] {
  if (!w) return [];
  if (!w.syncs) return ['disk     no WAL sync yet'];
  return [
    `disk     ${n(w.syncs)} WAL sync(s) since start: p50 ${syncBoundText(syncQuantile(w.counts, 0.5))}, p99 ${syncBoundText(syncQuantile(w.counts, 0.99))}, slowest ${(w.slowestSeconds * 1000).toFixed(1)} ms (every acknowledgement waits for one)`,
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
