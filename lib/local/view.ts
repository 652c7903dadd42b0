import type { PairFigures } from './report';

/**
 * The live terminal view of a local run. On a TTY it redraws a small table about twice a second
 * (ANSI cursor movement); otherwise (CI, pipes) it prints a plain summary line every few seconds.
 * It writes only to the stream it is given.
 */

export interface ViewStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ViewOptions {
  /** @default 500 */
  readonly intervalMs?: number;
  /** Plain mode prints a line every this many ms. @default 3000 */
  readonly plainEveryMs?: number;
  /** @default stream.isTTY */
  readonly tty?: boolean;
}

const fmtMs = (v?: number) =>
  v === undefined ? '–' : v >= 10000 ? `${(v / 1000).toFixed(0)}s` : `${Math.round(v)}ms`;

export function progressBar(done: number, total: number, width = 30): string {
  const f = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.round(f * 100)).padStart(3)}%`;
}

/** The table of figures, one row per table and source → target pair. */
export function renderPairs(pairs: readonly PairFigures[]): string[] {
  const head = [
    'table',
    'source → target',
    'applied',
    'lag p50',
    'lag p99',
    'conflicts',
    'deferred',
    'parked',
    'errors',
  ];
  const rows = pairs.map((p) => {
    // Lag sampled from outside only: the replicator's latency metric is measured from the stream
    // record's ApproximateCreationDateTime, which DynamoDB Local rounds to the minute (docs/platform.md#dynamodb-local).
    const lat = p.observedLag;
    return [
      p.table,
      `${p.source} → ${p.target}`,
      String(p.applied),
      fmtMs(lat.p50),
      fmtMs(lat.p99),
      String(p.conflictsLost),
      String(p.deferred),
      String(p.parked),
      String(p.errors),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)];
}

export class MirrorView {
  private timer?: NodeJS.Timeout;
  private drawnLines = 0;
  private phase = '';
  private status?: string;
  private progress?: { done: number; total: number; errors: number };
  private lastPlain = 0;
  private readonly started = Date.now();
  private readonly tty: boolean;

  constructor(
    private readonly out: ViewStream,
    private readonly source: () => readonly PairFigures[],
    private readonly options: ViewOptions = {},
  ) {
    this.tty = options.tty ?? !!out.isTTY;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.intervalMs ?? 500);
    this.timer.unref?.();
  }

  setPhase(phase: string): void {
    this.phase = phase;
    if (!this.tty) this.out.write(`${this.stamp()} ${phase}\n`);
    else this.redraw();
  }

  /** A line under the phase (a drill's state), shown while it is set. */
  setStatus(status: string | undefined): void {
    this.status = status;
  }

  setProgress(p: { done: number; total: number; errors: number }): void {
    this.progress = p;
  }

  /** A message that stays (printed above the live block). */
  log(line: string): void {
    if (this.tty) this.clear();
    this.out.write(`${line}\n`);
    if (this.tty) this.redraw();
  }

  /** Stops redrawing and (unless `final` is false) leaves the final figures on screen. */
  stop(final = true): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) this.clear();
    if (final) this.out.write(renderPairs(this.source()).join('\n') + '\n');
  }

  private stamp(): string {
    return `[${((Date.now() - this.started) / 1000).toFixed(1).padStart(5)}s]`;
  }

  private tick(): void {
    if (this.tty) return this.redraw();
    const now = Date.now();
    if (now - this.lastPlain < (this.options.plainEveryMs ?? 3000)) return;
    this.lastPlain = now;
    const pairs = this.source();
    const applied = pairs.reduce((n, p) => n + p.applied, 0);
    const parked = pairs.reduce((n, p) => n + p.parked, 0);
    const errors = pairs.reduce((n, p) => n + p.errors, 0);
    const conflicts = pairs.reduce((n, p) => n + p.conflictsLost, 0);
    const prog = this.progress ? ` workload ${this.progress.done}/${this.progress.total}` : '';
    const status = this.status ? ` | ${this.status}` : '';
    this.out.write(
      `${this.stamp()} ${this.phase}${prog} | applied ${applied}, conflicts lost ${conflicts}, parked ${parked}, errors ${errors}${status}\n`,
    );
  }

  private clear(): void {
    if (this.drawnLines) this.out.write(`\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }

  private redraw(): void {
    const lines = [`${this.stamp()} ${this.phase}`, ...(this.status ? [this.status] : [])];
    if (this.progress)
      lines.push(
        `workload ${progressBar(this.progress.done, this.progress.total)} ${this.progress.done}/${this.progress.total} ops, ${this.progress.errors} errors`,
      );
    lines.push(...renderPairs(this.source()));
    const width = this.out.columns ?? 120;
    this.clear();
    this.out.write(lines.map((l) => (l.length > width ? l.slice(0, width - 1) : l)).join('\n') + '\n');
    this.drawnLines = lines.length;
  }
}
