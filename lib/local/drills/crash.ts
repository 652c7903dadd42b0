import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { ProxyCall } from '../aws-proxy';
import type { FunctionHost } from '../function-host';
import type { DrillSession, Scenario, ScenarioFindings } from './session';

/**
 * Replicator processes killed in the middle of a batch, one every few seconds for `--for`, each
 * right after its sandbox started writing to a target: whatever it wrote stays written, the invocation
 * fails like a Lambda crash (`Runtime.ExitError`), and the event source retries. Checked: the retry of
 * each crashed batch starts at that batch's first record (nothing skipped), and the stream audit finds
 * no write that a re-delivered record applied over a newer one (duplicates change nothing).
 */

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem']);
const EVERY_MS = 3000;

interface Crash {
  readonly functionName: string;
  readonly at: number;
  readonly records: number;
  readonly firstSequenceNumber: string;
  readonly lastSequenceNumber: string;
  /** `source|shard|lane` of the crashed batch, once known from the invoke notices. */
  lane?: string;
  /** First sequence number of the next delivery on that lane. */
  resumedAt?: string;
  /**
   * The batch had already returned when the kill landed (its result was on its way): the next delivery
   * on the lane is a first attempt of later records. A kill, but not of a batch; no retry is owed.
   */
  finishedFirst?: boolean;
}

class Crasher {
  readonly crashes: Crash[] = [];
  private armed?: ReadonlySet<string>;
  private firing = false;
  private readonly lastInvoke = new Map<string, string>();

  constructor(private readonly s: DrillSession) {
    s.injector.observe((call) => this.onCall(call));
    s.onNotice((source, n) => {
      if (n.type !== 'invoke') return;
      const lane = `${source.functionName}|${source.table.name}|${n.shardId}|${n.lane}`;
      for (const c of this.crashes)
        if (c.lane === lane && c.resumedAt === undefined && !c.finishedFirst) {
          if (n.attempt === 1 && n.firstSequenceNumber > c.lastSequenceNumber) c.finishedFirst = true;
          else c.resumedAt = n.firstSequenceNumber;
        }
      this.lastInvoke.set(lane, n.firstSequenceNumber);
    });
  }

  /**
   * Crashes the next sandbox of any of `functionNames` that writes mid-batch; resolves after `timeoutMs`
   * at most. Any of them, not one in turn: on a loaded machine one function can go a whole window
   * without writing, and the drill would crash nothing.
   */
  async crashNext(functionNames: readonly string[], timeoutMs: number): Promise<void> {
    const before = this.crashes.length;
    this.armed = new Set(functionNames);
    const deadline = Date.now() + timeoutMs;
    while (this.crashes.length === before && Date.now() < deadline && !this.s.aborted) await this.s.wait(50);
    this.armed = undefined;
  }

  private onCall(call: ProxyCall): void {
    if (this.firing || !this.armed?.has(call.functionName) || !WRITES.has(call.operation)) return;
    const fn = this.s.handles.functions.get(call.functionName);
    const busy = fn?.hosts
      .filter((h) => (h.inFlight?.event as DynamoDBStreamEvent | undefined)?.Records?.length)
      .sort((a, b) => a.inFlight!.since - b.inFlight!.since)[0];
    if (!busy) return;
    this.firing = true;
    // A moment later, so the write that was just sent has likely landed: the crash leaves a half-done batch.
    setTimeout(() => void this.crash(call.functionName, busy).finally(() => (this.firing = false)), 15);
  }

  private async crash(functionName: string, host: FunctionHost): Promise<void> {
    const event = host.inFlight?.event as DynamoDBStreamEvent | undefined;
    if (!event?.Records?.length) return;
    const seqs = event.Records.map((r) => r.dynamodb?.SequenceNumber ?? '');
    const crash: Crash = {
      functionName,
      at: Date.now(),
      records: seqs.length,
      firstSequenceNumber: seqs[0],
      lastSequenceNumber: seqs[seqs.length - 1],
    };
    crash.lane = [...this.lastInvoke.entries()].find(
      ([lane, first]) => lane.startsWith(`${functionName}|`) && first === crash.firstSequenceNumber,
    )?.[0];
    // Listed before the kill: the event source can retry the batch before the kill returns here, and
    // that retry's invoke notice must find this crash (else the next batch would pass for the retry).
    this.crashes.push(crash);
    if (!(await host.crash())) {
      this.crashes.splice(this.crashes.indexOf(crash), 1);
      return;
    }
    this.armed = undefined;
    this.s.log(
      `killed a ${functionName} sandbox mid-batch (${crash.records} records, ${short(crash.firstSequenceNumber)}…${short(crash.lastSequenceNumber)}) right after it sent a write`,
    );
  }
}

export function crashScenario(): Scenario {
  let crasher: Crasher | undefined;
  return {
    name: 'crash' as const,
    plan: (s: DrillSession) =>
      `a replicator process killed mid-batch every ${EVERY_MS / 1000}s for ${s.settings.forSeconds}s from +${s.settings.leadSeconds}s, ` +
      `right after it sent a write (Runtime.ExitError, as a Lambda crash)`,
    windowSeconds: (settings) => settings.forSeconds,
    prepare: (s: DrillSession) => void (crasher = new Crasher(s)),
    inject: async (s: DrillSession) => {
      const functions = [...new Set(s.handles.streamSources.map((x) => x.functionName))];
      const end = Date.now() + s.settings.forSeconds * 1000;
      while (Date.now() < end && !s.aborted) {
        const started = Date.now();
        await crasher!.crashNext(functions, Math.max(0, end - started));
        await s.wait(Math.max(0, Math.min(EVERY_MS - (Date.now() - started), end - Date.now())));
      }
    },
    status: () => {
      const c = crasher?.crashes ?? [];
      return `${c.length} sandboxes killed · ${c.filter(resumedRight).length} retries resumed at the right record`;
    },
    conclude: (): ScenarioFindings => findings(crasher?.crashes ?? []),
  };
}

function resumedRight(c: Crash): boolean {
  return c.resumedAt === c.firstSequenceNumber;
}

function findings(kills: readonly Crash[]): ScenarioFindings {
  const crashes = kills.filter((c) => !c.finishedFirst);
  const problems = crashes
    .filter((c) => !resumedRight(c))
    .map((c) =>
      c.resumedAt === undefined
        ? `the batch crashed at ${short(c.firstSequenceNumber)} (${c.functionName}) was never seen again on its lane`
        : `the retry of the batch crashed at ${short(c.firstSequenceNumber)} (${c.functionName}) started at ${short(c.resumedAt)}`,
    );
  if (!crashes.length) problems.push('no sandbox was caught mid-batch: nothing was crashed');
  return {
    fields: {
      crashes: String(crashes.length),
      resumed: `${crashes.filter(resumedRight).length}/${crashes.length}`,
      ...(kills.length > crashes.length ? { finished_first: String(kills.length - crashes.length) } : {}),
    },
    problems,
    details: { crashes: kills },
  };
}

/** The last digits of a sequence number, enough to tell records apart in a line. */
function short(sequenceNumber: string): string {
  return `…${sequenceNumber.slice(-6)}`;
}
