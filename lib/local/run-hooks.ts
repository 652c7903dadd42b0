import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoStreamEventSource, EventSourceNotice } from './event-source';
import type { LocalFunction } from './function-host';
import type { LocalQueue, LocalQueues, SqsEventSource } from './local-queue';
import type { TableModel } from '../config/model';
import type { ExtendResult } from './mirror';
import type { LocalPlan, PlanTable } from './plan';
import type { StatsCollector } from './report';
import type { OperationOutcome, PlannedOp } from './workload';

/**
 * What a failure drill (lib/local/drills), or the adoption demo (lib/local/adoption.ts), plugs into a local mirror run: the run hands it its running
 * parts, lets it choose the clients the workload writes through, tells it the outcome of every workload
 * operation and every stream event, and waits for it before draining. Every member is optional.
 */
export interface RunHooks {
  /** The engine runs and nothing else yet: tables an adoption must find are created here. */
  onEngine?(handles: Pick<RunHandles, 'endpoint' | 'clientFor' | 'say'>): Promise<void> | void;
  /** Everything runs; the workload starts once this has resolved. */
  onStart?(handles: RunHandles): Promise<void> | void;
  /** The client the workload writes to `region` through (`client` is the run's own). */
  workloadClient?(region: string, client: DynamoDBClient): DynamoDBClient;
  onOperation?(op: PlannedOp, outcome: OperationOutcome): void;
  onStreamNotice?(source: RunStreamSource, notice: EventSourceNotice): void;
  /** Awaited once the workload is over, before the drain and the divergence check. */
  beforeDrain?(): Promise<void>;
}

/** A stream event source of the run: which function it invokes, on which table's stream. */
export interface RunStreamSource {
  readonly functionName: string;
  readonly region: string;
  readonly table: PlanTable;
  /** The stream ARN the engine assigned. */
  readonly streamArn: string;
  readonly source: DynamoStreamEventSource;
}

/** A queue event source of the run (the parked-record consumers). */
export interface RunQueueSource {
  readonly functionName: string;
  readonly region: string;
  readonly queue: LocalQueue;
  readonly source: SqsEventSource;
}

/** The running parts of a run, for a drill to act on and watch. */
export interface RunHandles {
  readonly endpoint: string;
  readonly functions: ReadonlyMap<string, LocalFunction>;
  readonly streamSources: readonly RunStreamSource[];
  readonly queueSources: readonly RunQueueSource[];
  readonly queues: LocalQueues;
  readonly stats: StatsCollector;
  clientFor(region: string): DynamoDBClient;
  /**
   * Applies a plan synthesized from the config with regions added (a region-added drill): new tables,
   * queues, functions and event sources, changed functions replaced; existing tables and streams stay.
   */
  extend(plan: LocalPlan, tables: readonly TableModel[]): Promise<ExtendResult>;
  /** A line that stays in the output. */
  say(line: string): void;
  /** A line under the live view's phase while it runs; undefined removes it. */
  status(line: string | undefined): void;
}
