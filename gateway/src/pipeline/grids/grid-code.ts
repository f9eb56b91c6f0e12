/**
 * 单元网格编码 (GB/T 30428): county 6 (GB/T 2260) + street 3 + community 3 + grid 2 = 14 digits;
 * Beijing's form has a 3-digit grid serial (15 digits). Returns why a code is wrong, or undefined.
 */
export type GridCodeLength = 14 | 15;

// First two digits of a GB/T 2260 administrative code: the provinces, municipalities and regions.
const PROVINCES = new Set(['11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37', '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65', '71', '81', '82']);

export function gridCodeProblem(code: string, length: GridCodeLength = 14): string | undefined {
  if (!/^\d+$/.test(code)) return `grid code "${code}" must be digits only`;
  if (code.length !== length) {
    const form = length === 14 ? '14 digits: county 6 + street 3 + community 3 + grid 2' : "15 digits (Beijing form): county 6 + street 3 + community 3 + grid 3";
    const hint = code.length === 15 || code.length === 14 ? ` (a ${code.length}-digit map needs grids.codeLength: ${code.length})` : '';
    return `grid code "${code}" has ${code.length} digits; this map uses ${form}${hint}`;
  }
  if (!PROVINCES.has(code.slice(0, 2))) return `grid code "${code}" does not start with a GB/T 2260 province code (11–82): its first 6 digits must be the county's administrative code`;
  if (/^0+$/.test(code.slice(12))) return `grid code "${code}" has grid serial 0; serials start at 1`;
  return undefined;
}

/** The parts of a grid code, for display. */
export function gridCodeParts(code: string): { county: string; street: string; community: string; grid: string } {
  return { county: code.slice(0, 6), street: code.slice(6, 9), community: code.slice(9, 12), grid: code.slice(12) };
}
