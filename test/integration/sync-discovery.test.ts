/**
 * Domain controllers found through DNS SRV records: a dead higher-priority
 * controller is skipped and the next one serves the whole sync; DNS that
 * answers nothing fails the run and keeps what was cached.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DnsmasqInstance, startDnsmasq } from '../../scripts/directories/dnsmasq.js';
import { AddConnectionDocument, TestConnectionDocument } from '../gql/graphql.js';
import { privateSlapd } from '../support/fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { syncNow } from '../support/sync.js';

const directory = privateSlapd({ users: 40, groups: 6, contacts: 5, seed: 'srv' });
let dns: DnsmasqInstance;
let gw: TestGateway;

beforeAll(async () => {
  dns = await startDnsmasq({
    srv: [
      // Priority 0 is tried first: nothing listens on 127.0.0.2.
      {
        name: '_ldap._tcp.corp.test',
        target: 'dc0.corp.test',
        port: directory.slapd.port,
        priority: 0,
        weight: 100,
      },
      {
        name: '_ldap._tcp.corp.test',
        target: 'dc1.corp.test',
        port: directory.slapd.port,
        priority: 10,
        weight: 100,
      },
    ],
    a: [
      { name: 'dc0.corp.test', address: '127.0.0.2' },
      { name: 'dc1.corp.test', address: '127.0.0.1' },
    ],
  });
  gw = await startTestGateway({
    env: { DIRGATE_DNS_SERVERS: dns.server, DIRGATE_LDAP_CONNECT_TIMEOUT_MS: '2000' },
  });
});

afterAll(async () => {
  await gw?.dispose();
  await dns?.stop();
});

const input = () => ({
  name: 'Discovered',
  domain: 'corp.test',
  searchBase: directory.slapd.baseDn,
  servers: [] as string[],
  bindDn: directory.slapd.reader.dn,
  bindPassword: directory.slapd.reader.password,
  allowPlaintextBind: true,
});

it('skips a dead higher-priority controller and syncs from the next', async () => {
  const { addConnection } = await gw.ok(AddConnectionDocument, { input: input() });
  const c = await syncNow(gw, addConnection.id);
  expect(c.status).toBe('SUCCEEDED');
  expect(c.activeServer).toBe(`ldap://dc1.corp.test:${directory.slapd.port}`);
  expect(c.lastSync?.server).toBe(`ldap://dc1.corp.test:${directory.slapd.port}`);
  expect(c.userCount).toBe(40);
});

it('tests the whole path step by step and names the server that answered', async () => {
  const { testConnection } = await gw.ok(TestConnectionDocument, { input: input() });
  expect(testConnection.ok).toBe(true);
  expect(testConnection.server).toBe(`ldap://dc1.corp.test:${directory.slapd.port}`);
  expect(testConnection.users).toBe(40);
  expect(testConnection.steps.map((s) => s.step)).toEqual(
    expect.arrayContaining(['DNS', 'TCP', 'BIND', 'SEARCH']),
  );
});

it('reports a domain with no SRV records at the DNS step', async () => {
  const { testConnection } = await gw.ok(TestConnectionDocument, {
    input: { ...input(), domain: 'nowhere.test' },
  });
  expect(testConnection.ok).toBe(false);
  const failed = testConnection.steps.find((s) => !s.ok);
  expect(failed?.step).toBe('DNS');
  expect(testConnection.error).toBeTruthy();
});
