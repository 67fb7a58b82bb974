/** Prometheus metrics (prom-client), one registry per gateway so several can live in one test process. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly syncRuns = new Counter({
    name: 'dirgate_sync_runs_total',
    help: 'Sync runs by outcome',
    labelNames: ['connection', 'status'] as const,
    registers: [this.registry],
  });
  readonly syncDuration = new Histogram({
    name: 'dirgate_sync_duration_seconds',
    help: 'Duration of finished sync runs',
    labelNames: ['connection', 'status'] as const,
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly entries = new Gauge({
    name: 'dirgate_cache_entries',
    help: 'Cached entries per connection and kind',
    labelNames: ['connection', 'kind'] as const,
    registers: [this.registry],
  });
  readonly duplicates = new Gauge({
    name: 'dirgate_duplicate_findings',
    help: 'Current duplicate findings per kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: 'dirgate_last_successful_sync_timestamp_seconds',
    help: 'When each connection last synced successfully',
    labelNames: ['connection'] as const,
    registers: [this.registry],
  });
  readonly orphanedConnections = new Gauge({
    name: 'dirgate_cache_orphaned_connections',
    help: 'Connections whose cache this node keeps serving, unsynced, though the settings store lists them no more and holds no deletion record for them',
    registers: [this.registry],
  });
  readonly graphqlRequests = new Counter({
    name: 'dirgate_graphql_requests_total',
    help: 'GraphQL operations by name and outcome',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly graphqlLatency = new Histogram({
    name: 'dirgate_graphql_request_duration_seconds',
    help: 'GraphQL operation latency',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly compiledQueries = new Counter({
    name: 'dirgate_graphql_compiled_runs_total',
    help: 'Runs of compiled queries: answered, fallback (an error; the standard path answered) or uncompilable',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
