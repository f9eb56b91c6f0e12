// The shapes of the gateway API answers the console reads (a subset; see runtime/snapshot.ts on the server).

export interface Metric {
  value: number | boolean | string;
  unit?: string;
}

export interface DeviceView {
  id: string;
  name?: string;
  profile: string;
  assetType: string;
  gridId: string;
  online?: boolean;
  lastSeen?: string;
  metrics: Record<string, Metric>;
  lastReject?: { at: string; reason: string; detail: string };
}

export interface AlarmView {
  alarmId: string;
  deviceId: string;
  rule: string;
  severity: string;
  title: { zh: string; en: string };
  raisedAt: string;
  acknowledged: boolean;
  occurrences: number;
  value?: number | boolean | string;
}

export interface CameraView {
  id: string;
  name?: string;
  gridId: string;
  state: string;
  online?: boolean;
  problem?: { kind: string; message: string };
  stream?: { width?: number; height?: number };
  lastFrameAt?: string;
}

export interface StatusView {
  gatewayId: string;
  version: string;
  startedAt: string;
  uptimeS: number;
  uplink: { url: string; connected: boolean; lastError?: string };
  outbox: Record<string, unknown>;
  counters: Record<string, number>;
  devices: DeviceView[];
  alarms: AlarmView[];
  cameras?: CameraView[];
}

export interface SystemView {
  cpu: { cores: number; usagePct?: number; load1: number };
  memory: { totalBytes: number; availableBytes: number; usedPct: number; gatewayRssBytes: number };
  disk?: { path: string; totalBytes: number; availableBytes: number; usedPct: number };
}

export interface ZoneView {
  id: string;
  name?: string;
  polygon: Array<[number, number]>;
  rules: string[];
  gridId?: string;
  site?: string;
  location?: { lat: number; lon: number };
}

export interface ZonesAnswer {
  cameraId: string;
  name?: string;
  cameraGrid?: string;
  zones: ZoneView[];
  rules: Array<{ id: string; title?: { zh: string; en: string } }>;
  grids: Array<{ code: string; name?: string }>;
  sha256: string;
}

export interface EvidenceView {
  kind: string;
  ref: string;
  sha256?: string;
  takenAt?: string;
}
