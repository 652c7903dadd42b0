import type { DimensionsOf, MetricName } from '../contract';

/**
 * The replicator's metrics and structured logs, behind a small interface so the processing code
 * is testable with a plain collector. `powertools-telemetry.ts` is the production implementation.
 */

export type { MetricName };

/** Dimensions as collected (either scope). */
export interface MetricDimensions {
  readonly table: string;
  /** Per-target metrics only. */
  readonly targetRegion?: string;
}

export interface Telemetry {
  /** Names and dimension sets come from the contract's metric list (`lambda/contract/metrics.ts`). */
  metric<N extends MetricName>(name: N, value: number, dimensions: DimensionsOf<N>): void;
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export interface CollectedMetric {
  readonly name: MetricName;
  readonly value: number;
  readonly dimensions: MetricDimensions;
}
export interface CollectedLog {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** In-memory telemetry: for tests and for the local mirror. */
export class CollectingTelemetry implements Telemetry {
  readonly metrics: CollectedMetric[] = [];
  readonly logs: CollectedLog[] = [];
  metric<N extends MetricName>(name: N, value: number, dimensions: DimensionsOf<N>): void {
    this.metrics.push({ name, value, dimensions });
  }
  info(message: string, fields: Record<string, unknown>): void {
    this.logs.push({ level: 'info', message, fields });
  }
  warn(message: string, fields: Record<string, unknown>): void {
    this.logs.push({ level: 'warn', message, fields });
  }
  error(message: string, fields: Record<string, unknown>): void {
    this.logs.push({ level: 'error', message, fields });
  }
  /** Sum of a metric's values, optionally for one target region. */
  total(name: MetricName, targetRegion?: string): number {
    return this.metrics
      .filter(
        (m) => m.name === name && (targetRegion === undefined || m.dimensions.targetRegion === targetRegion),
      )
      .reduce((sum, m) => sum + m.value, 0);
  }
}
