/**
 * /metrics after real syncs from a private slapd with planted duplicates:
 * runs by outcome, the duration histogram, cached entries per kind,
 * duplicate findings per kind (zeros included), the last success time per
 * connection (kept across a restart), and GraphQL requests and latency by
 * operation name and outcome, client-chosen names bounded to one `other` series.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDirectory } from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import { AddConnectionDocument, ConnectionByIdDocument } from '../gql/graphql.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { freePort } from '../support/gateway-process.js';
import { syncNow } from '../support/sync.js';

const DATASET = generateDirectory({
  users: 50,
  groups: 16,
  contacts: 10,
  seed: 'metrics-it',
  baseDn: 'dc=corp,dc=test',
  largeGroupSize: 0,
  duplicates: { userNames: 2, groupNames: 1, emailAddresses: 3 },
});

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The Prometheus text format, enough of it: one sample per line, labels as a map. */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m?.[1] || m[3] === undefined) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      if (pair[1] !== undefined) labels[pair[1]] = pair[2] ?? '';
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function value(samples: readonly Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

/** One operation name of another client, configured to label as itself. */
const ENV = { DIRGATE_METRICS_OPERATIONS: 'MailGatewayLookup, MailGatewayRules' };

let slapd: SlapdInstance;
let dataDir: string;
let gw: TestGateway;
let okId: string;
let deadId: string;

async function metrics(): Promise<Sample[]> {
  const res = await fetch(gw.url.replace(/\/graphql$/, '/metrics'));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parseMetrics(await res.text());
}

beforeAll(async () => {
  slapd = await startSlapd({ dataset: DATASET });
  dataDir = await mkdtemp(path.join(tmpdir(), 'dirgate-metrics-'));
  gw = await startTestGateway({ dataDir, env: ENV });
  const add = async (name: string, url: string, domain: string) =>
    (
      await gw.ok(AddConnectionDocument, {
        input: {
          name,
          domain,
          searchBase: DATASET.baseDn,
          servers: [url],
          bindDn: slapd.reader.dn,
          bindPassword: slapd.reader.password,
          allowPlaintextBind: true,
          includeContacts: true,
        },
      })
    ).addConnection.id;
  okId = await add('metrics-ok', slapd.url, 'corp.test');
  deadId = await add('metrics-dead', `ldap://127.0.0.1:${await freePort()}`, 'dead.test');
});

afterAll(async () => {
  await gw?.dispose();
  await slapd?.dispose();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('/metrics', () => {
  it('counts sync runs by outcome and observes their duration', async () => {
    const first = await syncNow(gw, okId);
    expect(first.status).toBe('SUCCEEDED');
    await syncNow(gw, okId);
    const changes = await syncNow(gw, okId, undefined, 'INCREMENTAL');
    expect(changes.lastSync?.mode).toBe('INCREMENTAL');
    const failed = await syncNow(gw, deadId);
    expect(failed.status).toBe('FAILED');

    const m = await metrics();
    expect(value(m, 'dirgate_sync_runs_total', { connection: okId, status: 'SUCCEEDED', mode: 'FULL' })).toBe(
      2,
    );
    expect(
      value(m, 'dirgate_sync_runs_total', { connection: okId, status: 'SUCCEEDED', mode: 'INCREMENTAL' }),
    ).toBe(1);
    expect(value(m, 'dirgate_sync_runs_total', { connection: deadId, status: 'FAILED' })).toBe(1);
    expect(value(m, 'dirgate_sync_runs_total', { connection: okId, status: 'FAILED' })).toBeUndefined();
    // RUNNING is a state, not an outcome: never counted.
    expect(m.some((s) => s.name === 'dirgate_sync_runs_total' && s.labels.status === 'RUNNING')).toBe(false);

    const ok = { connection: okId, status: 'SUCCEEDED' };
    expect(value(m, 'dirgate_sync_duration_seconds_count', ok)).toBe(2);
    expect(value(m, 'dirgate_sync_duration_seconds_bucket', { ...ok, le: '+Inf' })).toBe(2);
    const sum = value(m, 'dirgate_sync_duration_seconds_sum', ok) ?? 0;
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(120);
    expect(value(m, 'dirgate_sync_duration_seconds_count', { connection: deadId, status: 'FAILED' })).toBe(1);
  });

  it('shows cached entries per connection and kind', async () => {
    const m = await metrics();
    expect(value(m, 'dirgate_cache_entries', { connection: okId, kind: 'USER' })).toBe(DATASET.users.length);
    expect(value(m, 'dirgate_cache_entries', { connection: okId, kind: 'GROUP' })).toBe(
      DATASET.groups.length,
    );
    expect(value(m, 'dirgate_cache_entries', { connection: okId, kind: 'CONTACT' })).toBe(
      DATASET.contacts.length,
    );
    // The connection that never synced has no snapshot, so no series.
    expect(value(m, 'dirgate_cache_entries', { connection: deadId, kind: 'USER' })).toBeUndefined();
  });

  it('shows duplicate findings per kind, zero for kinds without any', async () => {
    const m = await metrics();
    const planted = DATASET.planted;
    expect(value(m, 'dirgate_duplicate_findings', { kind: 'USER_NAME' })).toBe(planted.userNames.length);
    expect(value(m, 'dirgate_duplicate_findings', { kind: 'GROUP_NAME' })).toBe(planted.groupNames.length);
    expect(value(m, 'dirgate_duplicate_findings', { kind: 'EMAIL_ADDRESS' })).toBe(
      planted.emailAddresses.length,
    );
    expect(planted.userNames.length).toBeGreaterThan(0);
    for (const kind of ['CONTACT_NAME', 'KERBEROS_NAME', 'NTLM_NAME']) {
      expect(value(m, 'dirgate_duplicate_findings', { kind }), kind).toBe(0);
    }
  });

  it('shows the last success time per connection, and keeps it across a restart', async () => {
    const conn = (await gw.ok(ConnectionByIdDocument, { id: okId })).connection;
    const finished = Date.parse(String(conn?.lastSuccessfulSync?.finishedAt ?? '')) / 1000;
    expect(Number.isFinite(finished)).toBe(true);
    const m = await metrics();
    expect(value(m, 'dirgate_last_successful_sync_timestamp_seconds', { connection: okId })).toBeCloseTo(
      finished,
      2,
    );
    expect(
      value(m, 'dirgate_last_successful_sync_timestamp_seconds', { connection: deadId }),
    ).toBeUndefined();

    await gw.stop();
    gw = await startTestGateway({ dataDir, env: ENV });
    const after = await metrics();
    expect(value(after, 'dirgate_last_successful_sync_timestamp_seconds', { connection: okId })).toBeCloseTo(
      finished,
      2,
    );
  });

  it('labels only known operation names: 1,000 distinct client-chosen names are one `other` series', async () => {
    const series = (m: readonly Sample[]) =>
      new Set(
        m
          .filter((s) => s.name.startsWith('dirgate_graphql_request'))
          .map((s) => `${s.name}${JSON.stringify(s.labels)}`),
      ).size;
    const before = series(await metrics());
    const names = Array.from({ length: 1000 }, (_, i) => `Probe${i}_${Math.random().toString(36).slice(2)}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map(async (name) => {
          const res = await fetch(gw.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.adminToken}` },
            body: JSON.stringify({ query: `query ${name} { node { name } }` }),
          });
          expect(res.status).toBe(200);
        }),
      );
    }
    const configured = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.adminToken}` },
      body: JSON.stringify({ query: 'query MailGatewayLookup { node { name } }' }),
    });
    expect(configured.status).toBe(200);
    // Over WebSocket too.
    const client = gw.ws();
    for (const name of names.slice(0, 20)) {
      await new Promise<void>((resolve, reject) =>
        client.subscribe(
          { query: `query ${name}Ws { node { name } }`, operationName: `${name}Ws` },
          { next: () => {}, error: reject, complete: resolve },
        ),
      );
    }

    const m = await metrics();
    const labels = new Set(
      m.filter((s) => s.name === 'dirgate_graphql_requests_total').map((s) => s.labels.operation),
    );
    for (const name of names) expect(labels.has(name)).toBe(false);
    expect(
      value(m, 'dirgate_graphql_requests_total', { operation: 'MailGatewayLookup', outcome: 'ok' }),
    ).toBe(1);
    expect(value(m, 'dirgate_graphql_requests_total', { operation: 'other', outcome: 'ok' })).toBe(1000);
    expect(value(m, 'dirgate_graphql_requests_total', { operation: 'other', outcome: 'websocket' })).toBe(20);
    expect(value(m, 'dirgate_graphql_request_duration_seconds_count', { operation: 'other' })).toBe(1000);
    // The counters and histograms of `other` and of the configured name: a few dozen series, not thousands.
    expect(series(m) - before).toBeLessThanOrEqual(40);
  });

  it('counts GraphQL requests and latency by operation name and outcome', async () => {
    await gw.ok(ConnectionByIdDocument, { id: okId });
    await gw.ok(ConnectionByIdDocument, { id: okId });
    const bad = await gw.request(ConnectionByIdDocument, { id: 'x'.repeat(5000) });
    expect(bad.errors?.length).toBeGreaterThan(0);
    const anonymous = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.adminToken}` },
      body: JSON.stringify({ query: '{ node { name } }' }),
    });
    expect(anonymous.status).toBe(200);

    const m = await metrics();
    const ok = { operation: 'ConnectionById', outcome: 'ok' };
    expect(value(m, 'dirgate_graphql_requests_total', ok)).toBe(2);
    expect(
      value(m, 'dirgate_graphql_requests_total', { operation: 'ConnectionById', outcome: 'error' }),
    ).toBe(1);
    expect(value(m, 'dirgate_graphql_requests_total', { operation: 'anonymous', outcome: 'ok' })).toBe(1);
    expect(value(m, 'dirgate_graphql_request_duration_seconds_count', { operation: 'ConnectionById' })).toBe(
      3,
    );
    expect(
      value(m, 'dirgate_graphql_request_duration_seconds_bucket', {
        operation: 'ConnectionById',
        le: '+Inf',
      }),
    ).toBe(3);
    expect(
      value(m, 'dirgate_graphql_request_duration_seconds_sum', { operation: 'ConnectionById' }),
    ).toBeGreaterThan(0);
  });
});
