/**
 * Long operations (backfill, verify, repair): a progress line with rate and ETA, and Ctrl-C. On a
 * terminal the line is redrawn in place (at most five times a second); otherwise (CI, pipes) a plain
 * line is printed every few seconds.
 */
import { progressBar } from '../../lib/local/view';

export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

export class Progress {
  private readonly started = Date.now();
  /** Plain lines start after the first interval: a short operation prints none. */
  private last = this.started;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream | undefined,
    private readonly label: string,
    /** Estimated units of work (e.g. DescribeTable's item count); 0 or less: unknown. */
    private readonly total: number,
    private readonly unit = 'items',
    private readonly plainEveryMs = 5000,
  ) {}

  update(done: number, note = ''): void {
    if (!this.stream) return;
    const now = Date.now();
    const tty = !!this.stream.isTTY;
    if (now - this.last < (tty ? 200 : this.plainEveryMs) && !(tty && !this.drawn)) return;
    this.last = now;
    const line = this.line(done, now, note);
    if (tty) {
      this.stream.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else this.stream.write(`${line}\n`);
  }

  /** Clears the line (on a terminal) so the summary starts on a clean line. */
  finish(): void {
    if (this.stream && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  private line(done: number, now: number, note: string): string {
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const known = this.total > 0 && done <= this.total;
    const eta = known && rate > 0 ? ` ETA ${duration((this.total - done) / rate)}` : '';
    const count = known ? `${done}/${this.total} ${this.unit}` : `${done} ${this.unit}`;
    const bar = known ? `${progressBar(done, this.total, 24)} ` : '';
    return `${this.label} ${bar}${count}, ${Math.round(rate)}/s${eta}${note ? `, ${note}` : ''}`;
  }
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  if (seconds < 3600)
    return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/** Where progress goes: a terminal on stderr, else a terminal on stdout (not with --json), else stderr as plain lines. */
export function progressStream(
  io: { out: ProgressStream; err: ProgressStream },
  json: boolean,
): ProgressStream | undefined {
  if (io.err.isTTY) return io.err;
  if (io.out.isTTY && !json) return io.out;
  return io.err;
}

export interface Interrupt {
  readonly signal: AbortSignal;
  dispose(): void;
}

/** The first Ctrl-C stops at the next checkpoint; a second one exits at once. */
export function onInterrupt(say: (line: string) => void, what: string): Interrupt {
  const controller = new AbortController();
  let count = 0;
  const handler = (signal: NodeJS.Signals) => {
    count += 1;
    if (count > 1) process.exit(130);
    say(`\n${signal}: ${what} (Ctrl-C again to quit at once)`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.removeListener('SIGINT', handler);
      process.removeListener('SIGTERM', handler);
    },
  };
}
