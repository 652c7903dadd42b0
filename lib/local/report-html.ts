import type { RunReport } from './report';

/** The run report as one self-contained HTML page: inline SVG, no scripts, nothing fetched. */

export const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
const ms = (v?: number) => (v === undefined ? '–' : `${Math.round(v)} ms`);

const PALETTE = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#ca8a04',
  '#db2777',
  '#4b5563',
];

/** A stretch of the chart's time axis to shade (a fault window); `to === from` draws a line. */
export interface ChartMark {
  /** ms, on the series' time axis. */
  readonly from: number;
  readonly to: number;
  readonly label: string;
}

/** Lag over time, one polyline per table/pair, as inline SVG; `marks` are shaded behind the lines. */
export function lagChart(
  series: RunReport['lagSeries'],
  width = 760,
  height = 260,
  marks: readonly ChartMark[] = [],
): string {
  if (!series.length) return '<p>No lag samples were taken.</p>';
  const pad = { l: 56, r: 12, t: 12, b: 32 };
  const maxT = Math.max(...series.map((s) => s.t), ...marks.map((m) => m.to), 1);
  const maxLag = Math.max(...series.map((s) => s.lagMs), 1);
  const x = (t: number) => pad.l + (t / maxT) * (width - pad.l - pad.r);
  const y = (v: number) => height - pad.b - (v / maxLag) * (height - pad.t - pad.b);
  const groups = new Map<string, RunReport['lagSeries'][number][]>();
  for (const s of series) {
    const k = `${s.table} ${s.origin}→${s.target}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const lines = [...groups.entries()].map(([name, points], i) => {
    const color = PALETTE[i % PALETTE.length];
    const pts = points.sort((a, b) => a.t - b.t).map((p) => `${x(p.t).toFixed(1)},${y(p.lagMs).toFixed(1)}`);
    return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.join(' ')}"><title>${esc(name)}</title></polyline>`;
  });
  const legend = [...groups.keys()]
    .map((name, i) => `<span style="color:${PALETTE[i % PALETTE.length]}">■</span> ${esc(name)}`)
    .join(' &nbsp; ');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text x="${pad.l - 6}" y="${y(f * maxLag) + 4}" text-anchor="end">${Math.round(f * maxLag)}</text>` +
        `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y(f * maxLag)}" y2="${y(f * maxLag)}" stroke="#e5e7eb"/>`,
    )
    .join('');
  const shaded = marks
    .map((m) => {
      const x0 = x(m.from);
      const w = Math.max(2, x(m.to) - x0);
      return (
        `<rect x="${x0.toFixed(1)}" y="${pad.t}" width="${w.toFixed(1)}" height="${height - pad.t - pad.b}" fill="#fca5a5" fill-opacity="0.35"><title>${esc(m.label)}</title></rect>` +
        `<text x="${(x0 + 3).toFixed(1)}" y="${pad.t + 10}" fill="#b91c1c">${esc(m.label)}</text>`
      );
    })
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-size="11" font-family="sans-serif">` +
    shaded +
    ticks +
    `<text x="${pad.l}" y="${height - 8}">0 s</text><text x="${width - pad.r}" y="${height - 8}" text-anchor="end">${(maxT / 1000).toFixed(1)} s</text>` +
    `<text x="12" y="${pad.t + 10}">ms</text>` +
    lines.join('') +
    `</svg><p class="legend">${legend}</p>`
  );
}

export function renderHtml(r: RunReport): string {
  const rows = r.pairs
    .map(
      (p) =>
        `<tr><td>${esc(p.table)}</td><td>${esc(p.source)} → ${esc(p.target)}</td><td>${p.applied}</td>` +
        `<td>${ms(p.observedLag.p50)} / ${ms(p.observedLag.p99)}</td><td>${ms(p.metricLatency.p50)} / ${ms(p.metricLatency.p99)}</td>` +
        `<td>${p.conflictsLost}</td><td>${p.deferred}</td><td>${p.parked}</td><td>${p.errors}</td></tr>`,
    )
    .join('\n');
  const divergent = (r.verification?.tables ?? [])
    .flatMap((t) => t.divergent)
    .slice(0, 200)
    .map(
      (d) => `<li><code>${esc(d.table)} ${esc(d.key)}</code> differs in ${esc(d.differing.join(', '))}</li>`,
    )
    .join('');
  const errors = r.errors
    .slice(0, 50)
    .map((e) => `<li>${esc(e.source)}: ${esc(e.message)}</li>`)
    .join('');
  const tables = r.config.tables
    .map(
      (t) =>
        `<li><b>${esc(t.name)}</b> — ${esc(t.mode)}${t.source ? ` from ${esc(t.source)}` : ''} in ${esc(t.regions.join(', '))}</li>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ddb-mirror local run</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#111;max-width:960px}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}
.ok{color:#15803d}.bad{color:#b91c1c}.legend{font-size:.85rem}code{font-size:.85rem}
</style></head><body>
<h1>ddb-mirror local run <span class="${r.ok ? 'ok' : 'bad'}">${r.ok ? '✔ converged' : '✘ not converged'}</span></h1>
<p>Started ${esc(r.startedAt)}, ${(r.durationMs / 1000).toFixed(1)} s, seed ${r.seed}. Divergent keys: <b>${r.divergentKeys}</b>.
${r.workload ? `Workload: ${r.workload.writes} writes (${r.workload.concurrentSaves} deliberately concurrent), ${r.workload.errors} errors.` : ''}</p>
<ul>${tables}</ul>
<h2>Replication per pair</h2>
<table><thead><tr><th>Table</th><th>Pair</th><th>Applied</th><th>Lag p50 / p99 (observed)</th><th>Latency p50 / p99 (metric¹)</th><th>Conflicts lost</th><th>Deferred</th><th>Parked</th><th>Errors</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p class="legend">Observed lag: workload write acknowledged → the same write visible in the target (sampled).
¹ The replicators' ReplicationLatency metric counts from the stream record's creation time, which DynamoDB Local rounds to the minute.</p>
<h2>Observed lag over time</h2>
${lagChart(r.lagSeries)}
<h2>Divergent keys</h2>
${divergent ? `<ul>${divergent}</ul>` : '<p>None.</p>'}
${errors ? `<h2>Errors</h2><ul>${errors}</ul>` : ''}
</body></html>
`;
}
