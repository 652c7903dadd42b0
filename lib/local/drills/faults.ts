import { WRITE_OPERATIONS, type ProxyCall, type ProxyFault, type ProxyFaults } from '../aws-proxy';
import { prng } from '../workload';

/** A workload write refused because its region is down in a drill: never sent, so never applied. */
export class RegionUnreachableError extends Error {
  override readonly name = 'RegionUnreachableError';
  constructor(readonly region: string) {
    super(`${region} is unreachable (drill): the write was refused before reaching the engine`);
  }
}

export type FaultCounts = Record<string, Partial<Record<ProxyFault, number>>>;

/**
 * The faults a drill injects, consulted by every function's proxy (`ProxyFaults`) and by the workload's
 * clients. Keyed by the region a request is signed for, as DynamoDB Local keeps one database per signing
 * region: a region that is down has every request refused (503 and connection resets, alternately); a
 * throttled mesh fails a fraction of requests (throttling and 500s, alternately); a mesh losing answers
 * lets a fraction of the functions' writes commit and then fails them (500s and cut connections,
 * alternately). Counts what it injected: a lost answer once the engine has applied the write.
 */
export class FaultInjector implements ProxyFaults {
  readonly counts: FaultCounts = {};
  private readonly down = new Set<string>();
  private readonly applicationDown = new Set<string>();
  private throttle?: { readonly fraction: number };
  private lostAnswers?: { readonly fraction: number };
  private readonly random: () => number;
  private alternate = 0;
  private readonly observers: ((call: ProxyCall) => void)[] = [];

  constructor(seed = 1) {
    this.random = prng(seed * 7919 + 17);
  }

  /** Every request signed for `region` fails from now on, the application's writes there included. */
  takeDown(region: string): void {
    this.down.add(region);
    this.applicationDown.add(region);
  }

  /** Only the application's writes to `region` are refused (its users were sent elsewhere). */
  failOverApplication(region: string): void {
    this.applicationDown.add(region);
  }

  bringUp(region: string): void {
    this.down.delete(region);
    this.applicationDown.delete(region);
  }

  /** Whether the workload's writes to `region` are refused. */
  refusesApplication(region: string): boolean {
    return this.applicationDown.has(region);
  }

  /** A share of every function's DynamoDB requests fails with throttling or a 500; undefined stops it. */
  setThrottle(fraction: number | undefined): void {
    this.throttle = fraction === undefined ? undefined : { fraction };
  }

  /**
   * A share of every function's DynamoDB writes is applied by the engine and then fails at the function
   * (a 500 or a cut connection); undefined stops it.
   */
  setLostAnswers(fraction: number | undefined): void {
    this.lostAnswers = fraction === undefined ? undefined : { fraction };
  }

  /** Called with every DynamoDB call a function makes, before the fault (if any) is decided. */
  observe(observer: (call: ProxyCall) => void): void {
    this.observers.push(observer);
  }

  faultFor(call: ProxyCall): ProxyFault | undefined {
    for (const o of this.observers) o(call);
    const fault = this.decide(call);
    // A lost answer counts once the engine has applied the write (`answerLost`): a write whose
    // condition failed there keeps its error answer and was not lost.
    if (fault && fault !== 'lost-answer' && fault !== 'lost-answer-reset') this.count(call.region, fault);
    return fault;
  }

  answerLost(call: ProxyCall, fault: 'lost-answer' | 'lost-answer-reset'): void {
    this.count(call.region, fault);
  }

  private count(region: string, fault: ProxyFault): void {
    const perRegion = (this.counts[region] ??= {});
    perRegion[fault] = (perRegion[fault] ?? 0) + 1;
  }

  /** Faults injected so far, over every region and mode. */
  get total(): number {
    return Object.values(this.counts).reduce(
      (n, modes) => n + Object.values(modes).reduce((a, b) => a + (b ?? 0), 0),
      0,
    );
  }

  private decide(call: ProxyCall): ProxyFault | undefined {
    if (this.down.has(call.region)) return this.alternate++ % 2 === 0 ? 'down' : 'reset';
    if (this.throttle && this.random() < this.throttle.fraction)
      return this.alternate++ % 2 === 0 ? 'throttle' : 'server-error';
    if (this.lostAnswers && WRITE_OPERATIONS.has(call.operation) && this.random() < this.lostAnswers.fraction)
      return this.alternate++ % 2 === 0 ? 'lost-answer' : 'lost-answer-reset';
    return undefined;
  }
}

/** `eu-west-1: 12 down, 11 reset; us-east-1: 3 throttle` (regions and modes in a stable order). */
export function describeCounts(counts: FaultCounts): string {
  const regions = Object.keys(counts).sort();
  if (!regions.length) return 'none';
  return regions
    .map((r) => {
      const modes = Object.entries(counts[r])
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([m, n]) => `${n} ${m}`);
      return `${r}: ${modes.join(', ')}`;
    })
    .join('; ');
}
