/** Prometheus metrics (prom-client), one registry per gateway so several can live in one test process. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Operation names that label the GraphQL metrics as themselves: the
 * documented operations (test/operations/*.graphql), those of the status
 * page, the console and the dirgate command. A client chooses its
 * operation names, and every distinct label value is a series Prometheus
 * keeps: any other name is labelled `other`, an unnamed operation
 * `anonymous`.
 */
export const KNOWN_OPERATIONS: readonly string[] = [
  // test/operations: the directory, connections and subscriptions.
  'AddConnection',
  'Address',
  'Autocomplete',
  'ClusterNodes',
  'ConfirmSync',
  'ConnectionById',
  'Connections',
  'Contacts',
  'DeleteConnection',
  'DiscardSync',
  'DomainByName',
  'Domains',
  'DuplicateFindings',
  'DuplicateWarnings',
  'GroupMembers',
  'Groups',
  'IsMember',
  'Node',
  'PrincipalById',
  'PrincipalsByEmail',
  'StartSync',
  'SyncEvents',
  'SyncRuns',
  'TestConnection',
  'TestStoredConnection',
  'UpdateConnection',
  'Users',
  'UsersWithGroups',
  'Viewer',
  // The status page.
  'StatusPage',
  // The console.
  'ConsoleAddConnection',
  'ConsoleAutocomplete',
  'ConsoleConfirmSync',
  'ConsoleConnection',
  'ConsoleConnectionSettings',
  'ConsoleDeleteConnection',
  'ConsoleDiscardSync',
  'ConsoleGatewayZone',
  'ConsoleInputFields',
  'ConsolePrincipal',
  'ConsolePrincipalFindings',
  'ConsolePrincipalNames',
  'ConsoleRunChanges',
  'ConsoleRunEvents',
  'ConsoleStartSync',
  'ConsoleTestConnection',
  'ConsoleTestStoredConnection',
  'ConsoleUpdateConnection',
  'ConsoleViewer',
  // The dirgate command.
  'CliAddConnection',
  'CliConfirm',
  'CliConnection',
  'CliConnectionNames',
  'CliConnections',
  'CliDeleteConnection',
  'CliDiscard',
  'CliFindings',
  'CliHeldRuns',
  'CliPrincipals',
  'CliRuns',
  'CliStartSync',
  'CliUpdateConnection',
];

export interface MetricsOptions {
  /** Operation names labelled as themselves besides KNOWN_OPERATIONS (another client's). */
  readonly operations?: readonly string[];
}

export class Metrics {
  readonly registry = new Registry();
  private readonly labelledOperations: ReadonlySet<string>;
  readonly syncRuns = new Counter({
    name: 'dirgate_sync_runs_total',
    help: 'Sync runs by outcome and mode (FULL, or INCREMENTAL: a run asked to be incremental that read everything counts as FULL)',
    labelNames: ['connection', 'status', 'mode'] as const,
    registers: [this.registry],
  });
  readonly syncDuration = new Histogram({
    name: 'dirgate_sync_duration_seconds',
    help: 'Duration of finished sync runs, by outcome and mode',
    labelNames: ['connection', 'status', 'mode'] as const,
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

  constructor(options: MetricsOptions = {}) {
    this.labelledOperations = new Set([...KNOWN_OPERATIONS, ...(options.operations ?? [])]);
    collectDefaultMetrics({ register: this.registry });
  }

  /** The `operation` label of an operation: its name when known, `anonymous` or `other` otherwise. */
  operationLabel(name: string | null | undefined): string {
    if (name === null || name === undefined || name === '') return 'anonymous';
    return this.labelledOperations.has(name) ? name : 'other';
  }
}
