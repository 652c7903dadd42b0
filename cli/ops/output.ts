/**
 * How the operations commands print: numbers, durations, aligned tables, capacity figures, and the
 * --json summary. Pure, except {@link writeJson}.
 */
import type { CapacityMeter } from '../../lambda/ops/capacity';
import type { CommandIo } from '../command';

/** `1,234`. */
export const fmt = (n: number) => n.toLocaleString('en-US');

/** `1 record`, `2 records`. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `350ms`, `1.2s`, `3min`; `–` when unknown. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.round(ms / 60_000)}min`;
}

/** Aligned columns: the first `left` columns padded right, the rest left. */
export function renderTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  left = 2,
): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i < left ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

/** Units and throttles, in total and per region (only regions that consumed any). */
export function capacityFigures(meters: Readonly<Record<string, CapacityMeter>>) {
  const regions = Object.fromEntries(
    Object.entries(meters)
      .filter(([, m]) => m.readUnits || m.writeUnits || m.throttles)
      .map(([r, m]) => [
        r,
        { readUnits: round(m.readUnits), writeUnits: round(m.writeUnits), throttles: m.throttles },
      ]),
  );
  const sum = (f: (m: CapacityMeter) => number) => Object.values(meters).reduce((n, m) => n + f(m), 0);
  return {
    readUnits: round(sum((m) => m.readUnits)),
    writeUnits: round(sum((m) => m.writeUnits)),
    throttles: sum((m) => m.throttles),
    regions,
  };
}

const round = (n: number) => Math.round(n * 10) / 10;

/** The --json summary: one JSON document on stdout. */
export function writeJson(io: Pick<CommandIo, 'out'>, value: unknown): void {
  io.out.write(`${JSON.stringify(value, null, 2)}\n`);
}
