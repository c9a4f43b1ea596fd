import { AggregatorRegistry } from 'prom-client';
import { metricsRegistry } from '../observability/metrics.js';

/** In a worker: answer the primary's requests for this process's figures (prom-client's protocol). */
export function answerMetricsAsWorker(): void {
  AggregatorRegistry.setRegistries([metricsRegistry]);
  new AggregatorRegistry(); // installs the worker's listener
}

/** In the primary: the sum of every worker's figures, in Prometheus text format. */
export function nodeMetricsAsPrimary(): () => Promise<string> {
  const aggregator = new AggregatorRegistry();
  return () => aggregator.clusterMetrics();
}
