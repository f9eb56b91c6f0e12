import type { CaseReport } from '@gridgate/contract';
import { uuidv7 } from '@gridgate/contract';

/** A schema-valid case report message, as a gateway publishes it. */
export function reportMessage(o: { gatewayId: string; seq: number; reportId: string; status: CaseReport['status']; code?: string; gridId?: string; firstSeen?: number; at?: number }): CaseReport {
  const at = o.at ?? Date.now();
  const first = o.firstSeen ?? at;
  const iso = (ms: number) => new Date(ms).toISOString();
  const code = o.code ?? '0102';
  return {
    id: uuidv7(at),
    ts: iso(at),
    gatewayId: o.gatewayId,
    seq: o.seq,
    v: 1,
    type: 'report',
    reportId: o.reportId,
    status: o.status,
    gridId: o.gridId ?? '31011500301205',
    location: { lat: 31.2339, lon: 121.5331 },
    address: '浦东新区民生路 12 号',
    category: { kind: 'component', code, major: { code: code.slice(0, 2), name: { zh: '公用设施', en: 'Public utilities' } }, minor: { code, name: { zh: '污水井盖', en: 'Sewer manhole cover' } } },
    source: { kind: 'device', id: 'cover-001', alarmIds: ['cover-001/cover-tilted/1'] },
    severity: 'critical',
    measurements: [{ metric: 'tilt', value: 26, unit: 'deg', limit: 12 }],
    description: { zh: `井盖倾斜 ${o.reportId} ${o.status}`, en: `Cover tilted ${o.reportId} ${o.status}` },
    evidence: [{ kind: 'readings', ref: `readings/${o.reportId}/1.json`, sha256: 'b'.repeat(64), takenAt: iso(first) }],
    firstSeen: iso(first),
    lastSeen: iso(at),
    occurrences: 1,
    deadlines: { registerBy: iso(first + 300_000), dispatchBy: iso(first + 1_200_000), resultBy: iso(first + 4_800_000) },
  };
}
