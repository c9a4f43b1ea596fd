import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type LabelValues,
} from 'prom-client';

/**
 * Every metric a node exports at `GET /metrics` (Prometheus text format), named here once, the
 * way src/cache/cache-keys.ts names every cache key. Code that counts something imports its
 * metric from this file; nothing else registers metrics.
 *
 * Labels have bounded values only: the API area (`registry`, `api`, `other`), the route kind
 * (RegistryRoute.kind under /v2/, the route template under /api/v1/, never a repository name,
 * tag or digest), the method (`OTHER` for unusual ones), the status code, and fixed names of
 * cache key kinds, storage drivers and storage operations.
 */
export const metricsRegistry = new Registry();

let defaultsCollected = false;

/** Node's process metrics (CPU, memory, event loop lag, GC, handles), once per process. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

const registers = [metricsRegistry];

/** Latency buckets for requests and storage operations, in seconds (5 ms to 1 min). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const httpRequestDuration = new Histogram({
  name: 'aerugo_http_request_duration_seconds',
  help: 'Requests served, by API area, route kind, method and status, with their duration (from the request to the last byte of the response)',
  labelNames: ['area', 'route', 'method', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers,
});

export const httpReceivedBytes = new Counter({
  name: 'aerugo_http_received_bytes_total',
  help: 'Request body bytes received, by API area and route kind',
  labelNames: ['area', 'route'] as const,
  registers,
});

export const httpSentBytes = new Counter({
  name: 'aerugo_http_sent_bytes_total',
  help: 'Response bytes sent (headers and body), by API area and route kind',
  labelNames: ['area', 'route'] as const,
  registers,
});

export const uploadsInProgress = new Gauge({
  name: 'aerugo_uploads_in_progress',
  help: 'Blob upload bodies this node is receiving now',
  registers,
});

export const manifestsPushed = new Counter({
  name: 'aerugo_manifests_pushed_total',
  help: 'Manifests stored by a PUT (by tag or by digest)',
  registers,
});

export const manifestsPulled = new Counter({
  name: 'aerugo_manifests_pulled_total',
  help: 'Manifests served by a GET (HEAD requests are not pulls)',
  registers,
});

export const cacheLookups = new Counter({
  name: 'aerugo_cache_lookups_total',
  help: 'Cache reads, by key kind (repo, ns, user, apikey, session, tagref, manifest, blob) and result (hit, or miss: not cached, or the store unreachable)',
  labelNames: ['kind', 'result'] as const,
  registers,
});

/** What the database pool gauges read when scraped; set by the metrics module. */
export interface PoolFigures {
  total: number;
  idle: number;
  waiting: number;
}
let poolProbe: (() => PoolFigures | undefined) | undefined;

export function observeDatabasePool(probe: (() => PoolFigures | undefined) | undefined): void {
  poolProbe = probe;
}

export const dbPoolConnections = new Gauge({
  name: 'aerugo_db_pool_connections',
  help: "Connections of this node's PostgreSQL pool, by state (in_use, idle)",
  labelNames: ['state'] as const,
  registers,
  collect() {
    const p = poolProbe?.();
    if (!p) return;
    this.set({ state: 'in_use' }, p.total - p.idle);
    this.set({ state: 'idle' }, p.idle);
  },
});

export const dbPoolWaiting = new Gauge({
  name: 'aerugo_db_pool_waiting',
  help: 'Queries waiting for a free connection of the pool',
  registers,
  collect() {
    const p = poolProbe?.();
    if (p) this.set(p.waiting);
  },
});

export const storageOperationDuration = new Histogram({
  name: 'aerugo_storage_operation_duration_seconds',
  help: 'Blob storage driver calls, by driver, operation and outcome (ok, error); for reads, the time to open the stream',
  labelNames: ['driver', 'operation', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers,
});

export const pullStatsFlushes = new Counter({
  name: 'aerugo_pull_stats_flushes_total',
  help: 'Batches of pull counts written to PostgreSQL, by outcome (ok, error: kept for the next flush)',
  labelNames: ['outcome'] as const,
  registers,
});

export const pullStatsPending = new Gauge({
  name: 'aerugo_pull_stats_pending',
  help: 'Repositories and tags whose pulls are counted in memory and not written yet',
  registers,
});

export const webhookDeliveries = new Counter({
  name: 'aerugo_webhook_deliveries_total',
  help: 'Webhook delivery attempts, by outcome (delivered: the target answered 2xx; retry: failed, tried again later; failed: failed for the last time)',
  labelNames: ['outcome'] as const,
  registers,
});

export const gcRuns = new Counter({
  name: 'aerugo_gc_runs_total',
  help: 'Garbage collection runs this node made, by mode (collect, dry_run) and outcome (ok, error: a step failed and stopped)',
  labelNames: ['mode', 'outcome'] as const,
  registers,
});

export const gcBlobsDeleted = new Counter({
  name: 'aerugo_gc_blobs_deleted_total',
  help: 'Blobs whose bytes garbage collection deleted on this node',
  registers,
});

export const gcBytesReclaimed = new Counter({
  name: 'aerugo_gc_reclaimed_bytes_total',
  help: 'Bytes of blobs garbage collection deleted on this node',
  registers,
});

export const gcRunDuration = new Histogram({
  name: 'aerugo_gc_run_duration_seconds',
  help: 'Garbage collection runs this node made, by mode (collect, dry_run), with their duration',
  labelNames: ['mode'] as const,
  buckets: [0.05, 0.25, 1, 5, 30, 120, 600, 3600],
  registers,
});

export type HttpLabels = LabelValues<'area' | 'route' | 'method' | 'status'>;
