import { mkdirSync, writeFileSync } from 'fs';
import { join, relative } from 'path';
import type { RunResult } from '../mirror';
import type { RunReport } from '../report';
import { esc, lagChart } from '../report-html';
import { renderPairs } from '../view';
import type { DrillName } from './catalog';
import type { Reapplication } from './audit';
import type { LostKey } from './ledger';
import type { DrillSession, DrillSettings } from './session';
import type { DrillVerdict } from './verdict';

/**
 * The drills' report: `.ddb-mirror/report.json` and `report.html` with a section per drill (its verdict,
 * what was injected and when, lag over time with the fault window marked, what was lost or re-applied),
 * each drill's own run report beside it under `drills/NAME/`.
 */

/** Lists in the report are cut at this length (the counts stay exact). */
const LIST_LIMIT = 50;

export interface DrillSection {
  readonly drill: DrillName;
  readonly line: string;
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly plan: string;
  readonly settings: DrillSettings;
  /** ms since the run's start (the run report's `startedAt`), like the lag series. */
  readonly window?: { readonly start: number; readonly end?: number };
  readonly recoveredAt?: number;
  readonly timeline: readonly { readonly t: number; readonly text: string }[];
  readonly ledger: {
    readonly acknowledged: number;
    readonly refused: number;
    readonly unknown: number;
    readonly keysChecked: number;
    readonly lostKeys: number;
    readonly lost: readonly LostKey[];
    readonly unexpected: readonly { readonly table: string; readonly key: string; readonly region: string }[];
  };
  readonly streams: {
    readonly recordsAudited: number;
    readonly reapplied: readonly Reapplication[];
    readonly reinserted: number;
  };
  /** The first diverged keys, each with its writes and every region's stream history. */
  readonly divergent: DrillVerdict['divergent'];
  readonly details: Readonly<Record<string, unknown>>;
  readonly run: {
    readonly json: string;
    readonly html: string;
    readonly durationMs: number;
    readonly workload?: RunReport['workload'];
    readonly divergentKeys: number;
    readonly queuesLeft: RunReport['queuesLeft'];
    readonly pairs: RunReport['pairs'];
    readonly lagSeries: RunReport['lagSeries'];
    readonly errors: RunReport['errors'];
  };
}

export function drillSection(session: DrillSession, verdict: DrillVerdict, result: RunResult): DrillSection {
  const r = result.report;
  const origin = Date.parse(r.startedAt);
  const rel = (epochMs: number | undefined) => (epochMs === undefined ? undefined : epochMs - origin);
  const shift = session.startedAt - origin;
  return {
    drill: verdict.drill,
    line: verdict.line,
    ok: verdict.ok,
    problems: verdict.problems,
    plan: session.scenario.plan(session),
    settings: session.settings,
    ...(session.window
      ? { window: { start: rel(session.window.start)!, end: rel(session.window.end) } }
      : {}),
    ...(session.recoveredAt ? { recoveredAt: rel(session.recoveredAt) } : {}),
    timeline: session.timeline.map((e) => ({ t: e.t + shift, text: e.text })),
    ledger: {
      acknowledged: session.ledger.acknowledged,
      refused: session.ledger.refused,
      unknown: session.ledger.unknown,
      keysChecked: verdict.ledger.keysChecked,
      lostKeys: verdict.ledger.lostKeys,
      lost: verdict.ledger.lost.slice(0, LIST_LIMIT),
      unexpected: verdict.ledger.unexpected.slice(0, LIST_LIMIT),
    },
    streams: {
      recordsAudited: verdict.audit.records,
      reapplied: verdict.audit.reapplied.slice(0, LIST_LIMIT),
      reinserted: verdict.audit.reinserted,
    },
    divergent: verdict.divergent,
    details: verdict.findings.details ?? {},
    run: {
      json: result.files.json,
      html: result.files.html,
      durationMs: r.durationMs,
      ...(r.workload ? { workload: r.workload } : {}),
      divergentKeys: r.divergentKeys,
      queuesLeft: r.queuesLeft,
      pairs: r.pairs,
      lagSeries: r.lagSeries,
      errors: r.errors.slice(0, 20),
    },
  };
}

export interface DrillsReport {
  readonly startedAt: number;
  readonly ok: boolean;
  readonly sections: readonly DrillSection[];
}

export function writeDrillsReport(report: DrillsReport, dir: string): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'report.json');
  const html = join(dir, 'report.html');
  const doc = {
    kind: 'drills',
    startedAt: new Date(report.startedAt).toISOString(),
    ok: report.ok,
    verdicts: report.sections.map((s) => s.line),
    drills: report.sections,
  };
  writeFileSync(json, JSON.stringify(doc, null, 2) + '\n');
  writeFileSync(html, renderDrillsHtml(report, dir));
  return { json, html };
}

function renderDrillsHtml(report: DrillsReport, dir: string): string {
  const verdicts = report.sections
    .map((s) => `<li class="${s.ok ? 'ok' : 'bad'}"><code>${esc(s.line)}</code></li>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ddb-mirror failure drills</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#111;max-width:960px}
pre{font-size:.8rem;background:#f8fafc;padding:.5rem;overflow-x:auto}
.ok{color:#15803d}.bad{color:#b91c1c}.legend{font-size:.85rem}code{font-size:.85rem}
</style></head><body>
<h1>ddb-mirror failure drills <span class="${report.ok ? 'ok' : 'bad'}">${report.ok ? '✔ nothing lost' : '✘ failed'}</span></h1>
<p>Started ${esc(new Date(report.startedAt).toISOString())}. Each drill ran on its own local mirror session under the demo workload.
"lost": an acknowledged write whose final state is missing in some region after convergence (the workload's ledger: see the README, "Reliability").</p>
<ul>${verdicts}</ul>
${report.sections.map((s) => sectionHtml(s, dir)).join('\n')}
</body></html>
`;
}

function sectionHtml(s: DrillSection, dir: string): string {
  const marks = s.window
    ? [{ from: s.window.start, to: s.window.end ?? s.window.start, label: `${s.drill} fault` }]
    : [];
  const timeline = s.timeline.map((e) => `+${(e.t / 1000).toFixed(1)}s ${e.text}`).join('\n');
  const lost = s.ledger.lost
    .map(
      (l) =>
        `<li><code>${esc(l.table)} ${esc(l.key)}</code> in ${esc(l.region)}: found ${esc(l.found ?? 'nothing')}, expected one of ${esc(l.candidates.map((c) => c ?? 'nothing').join(', '))}</li>`,
    )
    .join('');
  const reapplied = s.streams.reapplied
    .map(
      (r) =>
        `<li><code>${esc(r.table)} ${esc(r.key)}</code> in ${esc(r.region)}: ${esc(r.writeId)} over ${esc(r.over)}</li>`,
    )
    .join('');
  return `<h2 id="${esc(s.drill)}">${esc(s.drill)} <span class="${s.ok ? 'ok' : 'bad'}">${s.ok ? '✔' : '✘'}</span></h2>
<p><code>${esc(s.line)}</code></p>
<p>${esc(s.plan)}</p>
${s.problems.length ? `<ul class="bad">${s.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : ''}
<h3>Injected, and when</h3><pre>${esc(timeline)}</pre>
<h3>Observed lag over time</h3>
${lagChart(s.run.lagSeries, 760, 260, marks)}
<p class="legend">Shaded: the fault window. Seconds since the run started (engine, tables, functions, then the workload).</p>
<h3>Replication per pair</h3><pre>${esc(renderPairs(s.run.pairs).join('\n'))}</pre>
<p>Workload: ${s.ledger.acknowledged} writes acknowledged, ${s.ledger.refused} refused by the drill, ${s.ledger.unknown} with an unknown outcome; ${s.ledger.keysChecked} keys checked in every region.
Streams audited: ${s.streams.recordsAudited} records; ${s.streams.reinserted} duplicate inserts undone by a newer tombstone.</p>
${lost ? `<h3 class="bad">Lost (${s.ledger.lostKeys} keys)</h3><ul>${lost}</ul>` : ''}
${reapplied ? `<h3 class="bad">Re-applied over a newer write</h3><ul>${reapplied}</ul>` : ''}
${Object.keys(s.details).length ? `<h3>Details</h3><pre>${esc(JSON.stringify(s.details, null, 2).slice(0, 20000))}</pre>` : ''}
<p>This drill's own run report: <a href="${esc(relative(dir, s.run.html))}">${esc(relative(dir, s.run.html))}</a>.</p>`;
}
