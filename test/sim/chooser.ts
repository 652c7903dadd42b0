/**
 * The one source of every decision the simulator makes (which step runs next, what a call's fault is,
 * when an application write lands, batch sizes, duplicates, jitter): a run is a function of its
 * choice list, so a failure is reproduced by replaying that list.
 *
 * Three implementations:
 * - `RandomChooser`: one seed, one PRNG per kind of decision derived from it (a sub-seed per fake),
 *   so a fake that draws more or fewer numbers does not shift every other fake's draws;
 * - `ReplayChooser`: a recorded choice list, value by value;
 * - `ExhaustiveChooser`: every choice list, in the "exhaustigen" odometer order: each run records
 *   (value, bound) pairs; the next run keeps the prefix up to the last value that can still grow,
 *   increments it and truncates the rest (the world restarts from scratch for every run).
 */

import { prng } from '../../lib/local/workload';

/** What a decision is about: random choosers draw each kind from its own stream. */
export type DecisionKind = 'program' | 'step' | 'fault' | 'batch' | 'duplicate' | 'jitter' | 'profile';

export interface Choice {
  readonly kind: DecisionKind;
  readonly bound: number;
  readonly value: number;
}

/** What a chooser may consider besides the bound: random ones weigh, scripted ones read labels. */
export interface ChoiceHints {
  /** One per option; only random choosers use them. */
  readonly weights?: readonly number[];
  /** One per option, computed only when asked (scripted scenarios pick steps by their labels). */
  readonly labels?: () => readonly string[];
}

export interface Chooser {
  /**
   * An integer in [0, bound). Index 0 is the nominal choice (no fault, keep running the same actor).
   * Decisions with bound 1 are not recorded.
   */
  choose(kind: DecisionKind, bound: number, hints?: ChoiceHints): number;
  /** Every recorded decision of this run, in order. */
  readonly choices: readonly Choice[];
  /**
   * Exhaustive only: the next decision repeats the prefix of an earlier run (a state on the current
   * path, seen before because it is an ancestor, must not cut the run short).
   */
  readonly replaying?: boolean;
}

/** Mulberry32, the local workload's: small, fast, and the same on every platform. */
export { prng };

/** FNV-1a of a text, mixed with a seed: the sub-seed of one decision stream. */
export function subSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

abstract class RecordingChooser implements Chooser {
  readonly choices: Choice[] = [];
  /** Scripts also see forced decisions (a step that is the only one enabled is still theirs). */
  protected readonly seesForced: boolean = false;

  choose(kind: DecisionKind, bound: number, hints: ChoiceHints = {}): number {
    if (!Number.isInteger(bound) || bound < 1) throw new Error(`decision ${kind} with bound ${bound}`);
    if (bound === 1 && !this.seesForced) return 0;
    const value = this.pick(kind, bound, hints);
    if (bound > 1) this.choices.push({ kind, bound, value });
    return value;
  }

  protected abstract pick(kind: DecisionKind, bound: number, hints: ChoiceHints): number;
}

export class RandomChooser extends RecordingChooser {
  private readonly streams = new Map<DecisionKind, () => number>();

  constructor(readonly seed: number) {
    super();
  }

  /** A number in [0, 1) from the stream of `kind` (for fakes that need a fraction, like jitter). */
  fraction(kind: DecisionKind): number {
    return this.stream(kind)();
  }

  protected pick(kind: DecisionKind, bound: number, { weights }: ChoiceHints): number {
    const r = this.stream(kind)();
    if (!weights) return Math.floor(r * bound);
    const total = weights.slice(0, bound).reduce((a, w) => a + Math.max(0, w), 0);
    if (!(total > 0)) return Math.floor(r * bound);
    let x = r * total;
    for (let i = 0; i < bound; i++) {
      x -= Math.max(0, weights[i] ?? 0);
      if (x < 0) return i;
    }
    return bound - 1;
  }

  private stream(kind: DecisionKind): () => number {
    let s = this.streams.get(kind);
    if (!s) {
      s = prng(subSeed(this.seed, kind));
      this.streams.set(kind, s);
    }
    return s;
  }
}

/**
 * Replays recorded values in order. A value out of the decision's bound (the code under test changed
 * since the list was recorded) is clamped; past the end of the list every decision is 0 (nominal).
 * `diverged` tells whether either happened.
 */
export class ReplayChooser extends RecordingChooser {
  private next = 0;
  diverged = false;

  constructor(private readonly values: readonly number[]) {
    super();
  }

  get exhausted(): boolean {
    return this.next >= this.values.length;
  }

  protected pick(_kind: DecisionKind, bound: number): number {
    if (this.next >= this.values.length) return 0;
    const v = this.values[this.next++];
    if (v >= bound) {
      this.diverged = true;
      return bound - 1;
    }
    return v;
  }
}

/**
 * Enumerates every choice list, one run at a time: `choose` replays the current prefix and then
 * answers 0; `advance()` moves to the next list and returns false when all have been run. A run may
 * stop early (a state seen before): `advance()` then continues from the choices it made so far.
 */
export class ExhaustiveChooser extends RecordingChooser {
  private prefix: Choice[] = [];
  private position = 0;
  private started = false;
  runs = 0;

  protected pick(kind: DecisionKind, bound: number): number {
    this.started = true;
    const i = this.position++;
    if (i < this.prefix.length) {
      const p = this.prefix[i];
      // The world is deterministic: the same prefix must meet the same decisions.
      if (p.bound !== bound || p.kind !== kind)
        throw new Error(
          `nondeterminism: decision ${i} was ${p.kind}/${p.bound} in the previous run, now ${kind}/${bound}`,
        );
      return p.value;
    }
    return 0;
  }

  get replaying(): boolean {
    return this.position < this.prefix.length;
  }

  /**
   * How far the enumeration got in its leading decisions of `kind` (the application program, say):
   * the number of their value combinations already done, and how many there are.
   */
  progress(kind: DecisionKind): { readonly done: number; readonly total: number } {
    const lead: Choice[] = [];
    for (const c of this.prefix) {
      if (c.kind !== kind) break;
      lead.push(c);
    }
    let done = 0;
    let total = 1;
    for (const c of lead) {
      done = done * c.bound + c.value;
      total *= c.bound;
    }
    return { done, total };
  }

  /** Prepares the next run; false when every choice list has been run. */
  advance(): boolean {
    this.runs += 1;
    const made = [...this.choices];
    let i = made.length - 1;
    while (i >= 0 && made[i].value + 1 >= made[i].bound) i--;
    this.choices.length = 0;
    this.position = 0;
    if (i < 0) {
      this.prefix = [];
      return false;
    }
    this.prefix = [...made.slice(0, i), { ...made[i], value: made[i].value + 1 }];
    return true;
  }

  /** Whether any decision has been asked since construction (a world with no decisions runs once). */
  get asked(): boolean {
    return this.started;
  }
}

/** One step of a scripted scenario: the step to run (by its label) and what happens to it. */
export interface Directive {
  /** Matched against `<id> <what>` of the enabled steps, e.g. `app:a#1` or `→ b PutItem Items k =a0`. */
  readonly step?: string | RegExp;
  /** Instead of a step: let the world run (nominal choices) until a step matching this is enabled. */
  readonly runUntil?: string | RegExp;
  /** Instead of a step: replicate until only application writes and expiries could run. */
  readonly drain?: boolean;
  /** Instead of a step: run this thread's pending calls (`es:a`) until it has none. */
  readonly finish?: string;
  /** The fault of the call this step makes (`lost`, `crash-after`, `crash-before`, `fail`). */
  readonly fault?: string;
  /** A poll hands over only the first new record. */
  readonly split?: boolean;
  /** The batch this poll invokes is delivered twice. */
  readonly duplicate?: boolean;
}

const matcher = (pattern: string | RegExp) => (label: string) =>
  typeof pattern === 'string' ? label.includes(pattern) : pattern.test(label);

/** A call of a running invocation (`es:a#1/3 …`), as opposed to a step that starts something. */
const isCall = (label: string) => /^\S+#\d+\/\d+ /.test(label);

/**
 * Follows a script: at each step decision, the next directive's step if it is enabled. Until then
 * it lets running invocations continue (their pending calls, the last thread's first) and starts
 * nothing new, except under `runUntil`, where everything runs with nominal choices. A script whose
 * next step never becomes enabled is abandoned (`stuck` says where) and the run finishes with
 * nominal choices. Decisions the script does not mention are nominal (0).
 */
export class ScriptChooser extends RecordingChooser {
  protected readonly seesForced = true;
  private next = 0;
  private current?: Directive;
  stuck?: string;

  constructor(private readonly script: readonly Directive[]) {
    super();
  }

  /** Every directive was applied. */
  get followed(): boolean {
    return this.next >= this.script.length && !this.stuck;
  }

  protected pick(kind: DecisionKind, bound: number, hints: ChoiceHints): number {
    const labels = hints.labels?.() ?? [];
    if (kind === 'step') return this.pickStep(labels);
    const d = this.current;
    if (kind === 'fault' && d?.fault) {
      const i = labels.indexOf(d.fault);
      return i >= 0 ? i : 0;
    }
    if (kind === 'batch' && d?.split) return Math.min(1, bound - 1);
    if (kind === 'duplicate' && d?.duplicate) return Math.min(1, bound - 1);
    return 0;
  }

  private pickStep(labels: readonly string[]): number {
    this.current = undefined;
    for (;;) {
      const d = this.stuck ? undefined : this.script[this.next];
      if (!d) return 0;
      if (d.finish !== undefined) {
        const own = labels.findIndex((l) => l.startsWith(`${d.finish}#`) && isCall(l));
        if (own >= 0) return own;
        this.next += 1;
        continue;
      }
      if (d.drain) {
        const busy = labels.findIndex((l) => !/^(app|ttl):/.test(l));
        if (busy >= 0) return busy;
        this.next += 1;
        continue;
      }
      if (d.runUntil !== undefined) {
        if (!labels.some(matcher(d.runUntil))) return 0;
        this.next += 1;
        continue;
      }
      const i = d.step === undefined ? -1 : labels.findIndex(matcher(d.step));
      if (i >= 0) {
        this.next += 1;
        this.current = d;
        return i;
      }
      const running = labels.findIndex(isCall);
      if (running >= 0) return running;
      this.stuck = `no enabled step matches ${String(d.step ?? d.runUntil)} (enabled: ${labels.join('; ')})`;
      return 0;
    }
  }
}
