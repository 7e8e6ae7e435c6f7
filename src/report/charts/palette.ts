/**
 * Colours of the charts: an ordered palette handed out to backends in name order, so a backend keeps its colour
 * in every chart of a report whatever backends a scenario ran (no backend is named here: nftables, eBPF or any
 * backend added later gets the next colour). Colour-blind-safe qualitative palette (Okabe & Ito, 2008).
 */
export const PALETTE: readonly string[] = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#8C6D31', '#000000'];

/** Published reference markers and other annotations. */
export const REFERENCE_COLOR = '#333333';

/** backend name -> colour, for every backend of a report (sorted by name; the palette repeats past its end). */
export function backendColors(backends: Iterable<string>): Map<string, string> {
  const names = [...new Set(backends)].sort();
  return new Map(names.map((b, i) => [b, PALETTE[i % PALETTE.length]!]));
}

/** A lighter (t > 0) tint of a #rrggbb colour, for the second, third... value of a swept field in grouped charts. */
export function tint(hex: string, t: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => Math.round(c + (255 - c) * Math.min(Math.max(t, 0), 0.9)));
  return `#${ch.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}
