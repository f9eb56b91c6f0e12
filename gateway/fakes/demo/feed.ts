import type { UplinkMessage } from '@gridgate/contract';

/** One line of the demo's live feed for a message from the central broker, or undefined to skip it. */
export function feedLine(msg: UplinkMessage, lastTelemetry: Map<string, number>, now: number, everyMs = 10_000): string | undefined {
  const time = new Date(msg.ts).toTimeString().slice(0, 8);
  switch (msg.type) {
    case 'telemetry': {
      const last = lastTelemetry.get(msg.deviceId);
      if (last !== undefined && now - last < everyMs) return undefined;
      lastTelemetry.set(msg.deviceId, now);
      const values = Object.entries(msg.metrics)
        .slice(0, 5)
        .map(([k, m]) => `${k}=${String(m.value)}${m.unit && typeof m.value === 'number' ? m.unit : ''}`)
        .join(' ');
      return `${time} telemetry  ${msg.deviceId.padEnd(12)} grid ${msg.gridId}  ${values}`;
    }
    case 'alarm': {
      const v = msg.value !== undefined ? `  value=${String(msg.value)}${msg.unit ?? ''}` : '';
      const lim = msg.limit !== undefined ? ` limit=${msg.limit}` : '';
      const by = msg.state === 'acknowledged' ? ` by ${msg.acknowledgedBy}` : '';
      return `${time} ALARM ${msg.state.toUpperCase().padEnd(12)} ${msg.deviceId.padEnd(12)} ${msg.rule} (${msg.severity}) ${msg.title.zh} / ${msg.title.en}${v}${lim}${by}`;
    }
    case 'availability':
      return msg.state === 'offline' ? `${time} OFFLINE    ${msg.deviceId}` : undefined;
    case 'report':
      return `${time} REPORT ${msg.status.toUpperCase().padEnd(9)} ${msg.reportId} grid ${msg.gridId} ${msg.category.code} ${msg.category.minor.name.zh} / ${msg.category.minor.name.en}${msg.caseId ? ` case ${msg.caseId}` : ''}`;
    case 'event':
      return `${time} EVENT ${msg.phase.toUpperCase().padEnd(6)} ${msg.cameraId} ${msg.eventType} ${msg.eventCode} zone ${msg.zone.id} grid ${msg.gridId}`;
    case 'cmd-reply':
      return `${time} reply      ${msg.ok ? 'ok' : `error: ${msg.error}`}`;
    default:
      return undefined;
  }
}
