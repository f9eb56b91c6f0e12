import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { OnvifDevice } from './onvif/client.js';

/** A camera entry as written into the gateway config by discovery. */
export interface DiscoveredCameraEntry {
  id: string;
  name?: string;
  gridId?: string;
  source: { kind: 'onvif'; url: string; username?: string; password?: string; profile?: string };
}

/** Ids of the cameras and devices a config already has (a new camera id must differ from all). */
export function existingIds(yamlText: string): Set<string> {
  const doc = parseDocument(yamlText);
  const ids = new Set<string>();
  for (const key of ['cameras', 'devices']) {
    const seq = doc.get(key);
    if (!isSeq(seq)) continue;
    for (const item of seq.items) if (isMap(item) && item.get('id') !== undefined) ids.add(String(item.get('id')));
  }
  return ids;
}

/** ONVIF device service addresses already configured (discovery does not add a camera twice). */
export function configuredOnvifUrls(yamlText: string): Set<string> {
  const doc = parseDocument(yamlText);
  const out = new Set<string>();
  const seq = doc.get('cameras');
  if (!isSeq(seq)) return out;
  for (const item of seq.items) {
    const src = isMap(item) ? item.get('source') : undefined;
    if (isMap(src) && src.get('kind') === 'onvif' && src.get('url')) out.add(String(src.get('url')));
  }
  return out;
}

/** A camera id from what the device says about itself: cam-<model>-<serial>, topic-safe and unique. */
export function cameraIdFor(device: Pick<OnvifDevice, 'model' | 'serial' | 'xaddr'>, taken: ReadonlySet<string>): string {
  const slug = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '');
  let host = '';
  try {
    host = new URL(device.xaddr).hostname;
  } catch {
    /* keep empty */
  }
  const base = `cam-${[device.model, device.serial].map((s) => slug(s ?? '')).filter(Boolean).join('-') || slug(host) || 'onvif'}`.slice(0, 56);
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  return id;
}

/**
 * Adds camera entries to a gateway config's `cameras:` list, keeping everything else of the file as it was
 * (comments, order, formatting of the other sections). Returns the new text; the caller validates it before
 * writing it.
 */
export function addCamerasToConfig(yamlText: string, entries: readonly DiscoveredCameraEntry[]): string {
  const doc = parseDocument(yamlText);
  if (doc.errors.length) throw new Error(`the config is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (!isMap(doc.contents)) throw new Error('the config is not a YAML mapping');
  let seq = doc.get('cameras', true);
  if (!isSeq(seq)) {
    if (seq !== undefined && !(isScalar(seq) && seq.value === null)) throw new Error('`cameras` in the config is not a list');
    doc.set('cameras', doc.createNode([]));
    seq = doc.get('cameras', true);
    if (!isSeq(seq)) throw new Error('cannot add a cameras list to the config');
  }
  seq.flow = false;
  for (const e of entries) seq.add(doc.createNode(e));
  return doc.toString({ lineWidth: 0 });
}
