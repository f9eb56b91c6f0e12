import { readFileSync } from 'node:fs';

export interface TlsFileConfig {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Reads PEM files named in a config section into the buffers TLS options take. */
export function readTlsFiles(t: TlsFileConfig | undefined): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  if (!t) return {};
  return {
    ...(t.ca && { ca: readFileSync(t.ca) }),
    ...(t.cert && { cert: readFileSync(t.cert) }),
    ...(t.key && { key: readFileSync(t.key) }),
  };
}
