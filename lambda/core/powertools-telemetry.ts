import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC_DIMENSIONS, METRICS, type DimensionsOf, type MetricName } from '../contract';
import type { MetricDimensions, Telemetry } from './telemetry';

/**
 * Telemetry through Powertools. Metrics are aggregated per dimension set (table, or table +
 * targetRegion) during the batch and published as one EMF document per set by `flush()`: an EMF
 * document carries a single dimension set, and counts per record would flood the log.
 */
export class PowertoolsTelemetry implements Telemetry {
  private readonly groups = new Map<
    string,
    { dimensions: MetricDimensions; values: Map<MetricName, number[]> }
  >();

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  metric<N extends MetricName>(name: N, value: number, dimensions: DimensionsOf<N>): void {
    const id = `${dimensions.table}|${dimensions.targetRegion ?? ''}`;
    let group = this.groups.get(id);
    if (!group) this.groups.set(id, (group = { dimensions, values: new Map() }));
    const values = group.values.get(name) ?? [];
    // Counts are summed; latencies keep each value (EMF accepts up to 100 values per metric).
    if (METRICS[name].unit === 'Count' && values.length) values[0] += value;
    else if (values.length < 100) values.push(value);
    group.values.set(name, values);
  }

  info(message: string, fields: Record<string, unknown>): void {
    this.logger.info(message, fields);
  }
  warn(message: string, fields: Record<string, unknown>): void {
    this.logger.warn(message, fields);
  }
  error(message: string, fields: Record<string, unknown>): void {
    this.logger.error(message, fields);
  }

  /** Publishes and forgets everything collected since the last flush. */
  flush(): void {
    for (const { dimensions, values } of this.groups.values()) {
      this.metrics.addDimension(METRIC_DIMENSIONS.table, dimensions.table);
      if (dimensions.targetRegion)
        this.metrics.addDimension(METRIC_DIMENSIONS.targetRegion, dimensions.targetRegion);
      for (const [name, list] of values)
        for (const v of list) this.metrics.addMetric(name, METRICS[name].unit, v);
      this.metrics.publishStoredMetrics();
    }
    this.groups.clear();
  }
}
