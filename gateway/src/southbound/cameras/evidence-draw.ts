import { clampBox } from '../../model/geometry.js';
import type { EvidenceObject, ZoneShape } from '../../model/evidence-request.js';
import type { Box, Point } from '../../model/geometry.js';

const VEHICLES = new Set(['car', 'truck', 'bus', 'motorcycle']);

/**
 * Regions to blur before evidence is stored, derived from the finding's objects: the head of each person
 * (top fifth of the box) and the lower front of each vehicle (where plates are). A heuristic, not a face or
 * plate detector: it covers the usual places generously and says so in the docs.
 */
export function privacyRegions(objects: readonly EvidenceObject[], o: { faces: boolean; plates: boolean }): Box[] {
  const out: Box[] = [];
  for (const { box, label } of objects) {
    const [x1, y1, x2, y2] = clampBox(box);
    const w = x2 - x1;
    const h = y2 - y1;
    if (o.faces && label === 'person') out.push(clampBox([x1 - w * 0.1, y1 - h * 0.02, x2 + w * 0.1, y1 + h * 0.22]));
    if (o.plates && label && VEHICLES.has(label)) out.push(clampBox([x1 + w * 0.1, y1 + h * 0.55, x2 - w * 0.1, y2]));
  }
  return out.filter(([a, b, c, d]) => c > a && d > b);
}

/** Box in pixels, at least 1×1, inside the image. */
export function pixelRect(box: Box, width: number, height: number): { left: number; top: number; width: number; height: number } {
  const [x1, y1, x2, y2] = clampBox(box);
  const left = Math.min(width - 1, Math.floor(x1 * width));
  const top = Math.min(height - 1, Math.floor(y1 * height));
  return { left, top, width: Math.max(1, Math.min(width - left, Math.ceil(x2 * width) - left)), height: Math.max(1, Math.min(height - top, Math.ceil(y2 * height) - top)) };
}

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The overlay of an annotated evidence image (SVG): zones, the finding's boxes with labels, a caption. */
export function overlaySvg(width: number, height: number, o: { objects: readonly EvidenceObject[]; zones: readonly ZoneShape[]; caption: string }): string {
  const px = (p: Point) => `${(p[0] * width).toFixed(1)},${(p[1] * height).toFixed(1)}`;
  const stroke = Math.max(2, Math.round(width / 256));
  const font = Math.max(11, Math.round(width / 40));
  const parts: string[] = [];
  for (const z of o.zones) {
    parts.push(`<polygon points="${z.polygon.map(px).join(' ')}" fill="#ffd400" fill-opacity="0.15" stroke="#ffd400" stroke-width="${stroke}" stroke-dasharray="${stroke * 4},${stroke * 2}"/>`);
    const [x, y] = z.polygon[0]!;
    parts.push(label(x * width, y * height, z.name ?? z.id, font, '#ffd400', '#000'));
  }
  for (const ob of o.objects) {
    const r = pixelRect(ob.box, width, height);
    parts.push(`<rect x="${r.left}" y="${r.top}" width="${r.width}" height="${r.height}" fill="none" stroke="#ff2d2d" stroke-width="${stroke}"/>`);
    const text = [ob.label, ob.score !== undefined ? ob.score.toFixed(2) : undefined].filter(Boolean).join(' ');
    const below = r.top + r.height + font + 6 <= height;
    if (text) parts.push(label(r.left, below ? r.top + r.height : Math.max(0, r.top - font - 6), text, font, '#ff2d2d', '#fff'));
  }
  parts.push(label(0, 0, o.caption, font, '#000', '#fff', 0.6));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

function label(x: number, y: number, text: string, font: number, bg: string, fg: string, opacity = 0.8): string {
  const h = font + 6;
  const w = Math.ceil(text.length * font * 0.6) + 8;
  return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w}" height="${h}" fill="${bg}" fill-opacity="${opacity}"/><text x="${(x + 4).toFixed(1)}" y="${(y + font + 1).toFixed(1)}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="${fg}">${esc(text)}</text>`;
}
