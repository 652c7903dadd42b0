/**
 * The states an exhaustive exploration has met, for cutting runs short: a run that reaches a state
 * whose every continuation has been (or is being) explored stops there.
 *
 * A state is remembered with what limited its exploration: the thread that ran last, the budgets
 * left (preemptions first, then faults, duplicates, expiries) and the sleep set (steps not to run
 * first). A later visit is covered when an earlier one had at least as much of every budget and
 * slept on no more steps: everything the later visit could do, the earlier one explored. A
 * schedule costs at most one preemption more when the thread that ran last differs, so an earlier
 * visit after another thread covers a later one only with a preemption to spare.
 */
export class StateCache {
  private readonly seen = new Map<
    string,
    { readonly last: string; readonly budget: readonly number[]; readonly asleep: ReadonlySet<string> }[]
  >();
  private count = 0;

  /** Distinct (state, limits) entries kept. */
  get size(): number {
    return this.count;
  }

  /** True when an earlier visit covers this one; otherwise remembers it and returns false. */
  visit(state: string, last: string, budget: readonly number[], asleep: readonly string[]): boolean {
    let entries = this.seen.get(state);
    if (!entries) this.seen.set(state, (entries = []));
    const covered = entries.some(
      (e) =>
        e.budget.every((b, i) => b >= budget[i] + (i === 0 && e.last !== last ? 1 : 0)) &&
        [...e.asleep].every((s) => asleep.includes(s)),
    );
    if (covered) return true;
    entries.push({ last, budget, asleep: new Set(asleep) });
    this.count += 1;
    return false;
  }
}
