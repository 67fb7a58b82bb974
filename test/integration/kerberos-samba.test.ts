/**
 * KERBEROS connections to the shared Samba AD DC through the GraphQL API
 * (#17; run under flock /tmp/dirgate-samba.lock): a keytab exported for a
 * plain service account (svc-dirgate), a SASL GSSAPI bind with the
 * confidentiality layer on plain `ldap://dc1.corp.test:389` (the SPN is
 * built from that name; Samba's DNS resolves it through
 * DIRGATE_DNS_SERVERS), every later message wrapped.
 *
 * - on the wire between the gateway and the DC, none of the directory's
 *   data in clear (sealed, not only signed);
 * - a full sync over the sealed session serves, object for object, what the
 *   same account's StartTLS simple-bind sync serves (users, groups,
 *   contacts, members, addresses);
 * - the 1,600-member group read in ranges of 500 through the wrapped
 *   transport, every member present;
 * - the KDC found by SRV (`kdcs: []`), and not found when the DNS has no
 *   `_kerberos._tcp` record;
 * - two connections with two keytabs side by side in one gateway;
 * - nothing written outside the data folder (no ticket caches in /tmp or
 *   the working directory), and the keytab in no readable form in a
 *   response, a log line or a data-folder file.
 */
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupMembersDocument, type GroupMembersQuery, StartSyncDocument } from '../gql/graphql.js';
import {
  type Dataset,
  datasetFor,
  directories,
  querySrv,
  type SambaInfo,
  sharedSamba,
  startDnsmasq,
} from '../support/directories.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import {
  type KerberosFixtureInfo,
  kerberosFixture,
  kerberosServerUrl,
  keytabBytes,
} from '../support/kerberos.js';
import {
  addKerberosConnection,
  connectionLeafFields,
  everyConnectionField,
  type KerberosConnectionInput,
  kerberosConnection,
  kerberosGatewayEnv,
  kerberosInput,
  testKerberos,
  withoutConnectionIds,
} from '../support/kerberos-api.js';
import {
  filesHolding,
  filesUnder,
  formsIn,
  keytabForms,
  type SecretForm,
  startTcpRelay,
  ticketCacheFiles,
} from '../support/kerberos-leaks.js';
import { captureLogs, type LogCapture } from '../support/log-capture.js';
import { type ServedObject, servedDirectory } from '../support/served-directory.js';
import { syncNow, waitForSync } from '../support/sync.js';

/** Scheduled runs never start by themselves in these tests (the scheduler is off anyway). */
const NEVER = '0 0 1 1 *';
const RANGE_SIZE = 500;

let k: KerberosFixtureInfo;
let samba: SambaInfo;
let dataset: Dataset;
let gw: TestGateway;
let logs: LogCapture;
let cachesBefore: string[];
/** Every response these tests got from the Kerberos gateway, as text, for the keytab scan. */
const responses: string[] = [];

/** A step-by-step record of what the gateway answered (kept for the leak scan). */
function keep<T>(value: T): T {
  responses.push(JSON.stringify(value));
  return value;
}

async function addAndSync(input: KerberosConnectionInput) {
  const added = keep(await addKerberosConnection(gw, { schedule: NEVER, ...input }));
  const ended = await syncNow(gw, added.id, 120_000);
  expect(ended.status, ended.lastSync?.error ?? '').toBe('SUCCEEDED');
  return keep(await kerberosConnection(gw, added.id));
}

beforeAll(async () => {
  k = kerberosFixture();
  samba = sharedSamba();
  dataset = datasetFor(samba.dataset);
  cachesBefore = ticketCacheFiles();
  logs = captureLogs();
  gw = await startTestGateway({
    env: { ...kerberosGatewayEnv(), DIRGATE_LDAP_RANGE_SIZE: String(RANGE_SIZE) },
    logStream: logs.stream,
    logLevel: 'debug',
  });
});

afterAll(async () => {
  await gw?.dispose();
});

describe('a KERBEROS connection to Samba AD over sealed GSSAPI on ldap://', () => {
  let connectionId: string;
  let kerberosServed: ServedObject[];

  it('is stored with its keytab write-only: auth KERBEROS, hasKeytab, the keytab principal, its KDCs, no bind DN or password', async () => {
    const added = keep(
      await addKerberosConnection(gw, { ...kerberosInput({ name: 'Kerberos full' }), schedule: NEVER }),
    );
    connectionId = added.id;
    expect(added).toMatchObject({
      auth: 'KERBEROS',
      hasKeytab: true,
      keytabPrincipal: k.principals.dirgate,
      kdcs: [k.kdc],
      bindDn: null,
      hasBindPassword: false,
      servers: [kerberosServerUrl()],
      tls: 'NONE',
    });
  });

  it('testConnection takes a KERBEROS step before BIND and counts the domain', async () => {
    const report = keep(await testKerberos(gw, kerberosInput()));
    expect(report.ok, report.error ?? '').toBe(true);
    const steps = report.steps.map((s) => s.step);
    expect(steps).toContain('KERBEROS');
    expect(steps.indexOf('KERBEROS')).toBeLessThan(steps.indexOf('BIND'));
    expect(report.steps.every((s) => s.ok)).toBe(true);
    expect(report.users).toBeGreaterThanOrEqual(dataset.users.length);
    expect(report.groups).toBeGreaterThanOrEqual(dataset.groups.length);
    expect(report.contacts).toBe(dataset.contacts.length);
  });

  it('a full sync over the sealed session serves what the StartTLS simple-bind sync of the same account serves, object for object', async () => {
    const ended = await syncNow(gw, connectionId, 120_000);
    expect(ended.status, ended.lastSync?.error ?? '').toBe('SUCCEEDED');
    expect(ended.lastSync?.server).toBe(kerberosServerUrl());
    const kerberos = keep(await kerberosConnection(gw, connectionId));
    kerberosServed = withoutConnectionIds(await servedDirectory(gw, connectionId), connectionId);

    // The same account's password over StartTLS, in a gateway of its own (nothing Kerberos in it).
    const reference = await startTestGateway({ env: kerberosGatewayEnv() });
    try {
      const caPem = directories().certificates?.caPem ?? null;
      const added = await addKerberosConnection(reference, {
        ...kerberosInput({ name: 'StartTLS reference' }),
        tls: 'STARTTLS',
        caCertificate: caPem,
        auth: 'SIMPLE',
        keytab: null,
        kdcs: [],
        bindDn: k.service.dn,
        bindPassword: k.service.password,
        schedule: NEVER,
      });
      const done = await syncNow(reference, added.id, 120_000);
      expect(done.status, done.lastSync?.error ?? '').toBe('SUCCEEDED');
      const simple = await kerberosConnection(reference, added.id);
      const simpleServed = withoutConnectionIds(await servedDirectory(reference, added.id), added.id);

      expect(kerberos.lastSync?.counts).toEqual(simple.lastSync?.counts);
      expect(kerberosServed.length).toBe(simpleServed.length);
      expect(kerberosServed).toEqual(simpleServed);
    } finally {
      await reference.dispose();
    }

    // Not two empty reads: the generated directory is in it, addresses and members too.
    const guids = new Set(kerberosServed.map((o) => o.principal.id));
    for (const entry of [...dataset.users, ...dataset.groups, ...dataset.contacts]) {
      expect(guids.has(entry.guid), entry.dn).toBe(true);
    }
    expect(kerberos.lastSync?.counts?.addresses).toBeGreaterThanOrEqual(dataset.users.length);
    expect(kerberosServed.some((o) => o.members.length > 0)).toBe(true);
  }, 300_000);

  it(`reads the 1,600-member group in ranges of ${RANGE_SIZE} through the wrapped transport: every member`, async () => {
    const large = dataset.groups.find((g) => g.dn === dataset.structure.largeGroup);
    if (!large) throw new Error('no large group in the Samba dataset');
    expect(large.members).toHaveLength(1600);
    const byDn = new Map(dataset.users.map((u) => [u.dn.toLowerCase(), u.guid]));
    const expected = large.members.map((dn) => byDn.get(dn.toLowerCase())).sort();

    const served = kerberosServed.find((o) => o.principal.id === large.guid);
    expect(served?.members).toHaveLength(1600);
    expect(served?.members).toEqual(expected);

    // As the API pages them, too.
    const id = `${connectionId}:${large.guid}`;
    const first: GroupMembersQuery = await gw.ok(GroupMembersDocument, { id, first: 10 });
    expect(first.principal?.__typename === 'Group' ? first.principal.members.totalCount : null).toBe(1600);

    // 0-499 comes with the paged search; 500-999, 1000-1499 and 1500-* are asked one by one on the sealed session.
    const read = logs.lines.find((l) => l.phase === 'read' && l.connectionId === connectionId);
    expect(read, 'no "sync phase read" line of the run').toBeDefined();
    expect(Number(read?.rangedRequests)).toBeGreaterThanOrEqual(3);
  });
});

describe('the sealed session on the wire', () => {
  it("a listener between the gateway and the DC sees the directory's data only in plain LDAP before the bind, never in the session", async () => {
    const relay = await startTcpRelay(k.ldapPort);
    try {
      // The listener's own check: an anonymous RootDSE read (plain LDAP, no bind) is readable on the wire.
      const anonymous = new Client({ url: `ldap://127.0.0.1:${relay.port}` });
      const { searchEntries } = await anonymous.search('', {
        scope: 'base',
        attributes: ['defaultNamingContext'],
      });
      await anonymous.unbind();
      expect(searchEntries[0]?.defaultNamingContext).toBe(samba.baseDn);
      expect(relay.wire().includes('defaultNamingContext')).toBe(true);
      relay.clearWire();

      // Counting the contacts returns each one's DN: on the wire, only as sealed tokens.
      const report = keep(
        await testKerberos(
          gw,
          kerberosInput({
            servers: [`ldap://${k.hostName}:${relay.port}`],
            searchBase: dataset.containers.contact,
          }),
        ),
      );
      expect(report.ok, report.error ?? '').toBe(true);
      expect(report.contacts).toBe(dataset.contacts.length);
      const wire = relay.wire();
      expect(wire.length).toBeGreaterThan(dataset.contacts.length * 40);
      const inClear = dataset.contacts.filter((c) => wire.includes(c.dn) || wire.includes(c.displayName));
      expect(inClear.map((c) => c.dn)).toEqual([]);
      expect(wire.includes(dataset.containers.contact)).toBe(false);
    } finally {
      await relay.stop();
    }
  });
});

describe('the KDC found through DNS SRV (kdcs: [])', () => {
  it("Samba's DNS publishes _kerberos._tcp.<REALM> (what the gateway is to find)", async () => {
    const records = await querySrv(k.dnsServer, `_kerberos._tcp.${k.realm}`);
    expect(records.map((r) => r.port)).toContain(88);
  });

  it('testConnection and a sync work with no KDC configured', async () => {
    // The contacts' OU: a search base no other connection of this gateway reads.
    const input = kerberosInput({ name: 'Kerberos SRV', kdcs: [], searchBase: dataset.containers.contact });
    const report = keep(await testKerberos(gw, input));
    expect(report.ok, report.error ?? '').toBe(true);
    expect(report.steps.find((s) => s.step === 'KERBEROS')?.ok).toBe(true);
    const synced = await addAndSync(input);
    expect(synced.kdcs).toEqual([]);
    expect(synced.contactCount).toBe(dataset.contacts.length);
  });

  it('without a _kerberos SRV record in DIRGATE_DNS_SERVERS: KDC_NOT_FOUND at the KERBEROS step', async () => {
    // Resolves the DC's name, publishes no KDC: the LDAP server is reachable, the KDC is not findable.
    const dns = await startDnsmasq({ a: [{ name: k.hostName, address: '127.0.0.1' }] });
    const blind = await startTestGateway({ env: { DIRGATE_DNS_SERVERS: dns.server } });
    try {
      const report = await testKerberos(blind, kerberosInput({ kdcs: [] }));
      expect(report.ok).toBe(false);
      const failed = report.steps.find((s) => !s.ok);
      expect(failed?.step).toBe('KERBEROS');
      expect(report.error).toMatch(/\bKDC_NOT_FOUND: /);
    } finally {
      await blind.dispose();
      await dns.stop();
    }
  });
});

describe('two KERBEROS connections with different keytabs in one gateway', () => {
  it("svc-dirgate's (users) and svc-second's (groups) connections sync side by side", async () => {
    const users = keep(
      await addKerberosConnection(gw, {
        ...kerberosInput({ name: 'Kerberos users', searchBase: dataset.containers.user }),
        schedule: NEVER,
      }),
    );
    const groups = keep(
      await addKerberosConnection(gw, {
        ...kerberosInput({
          name: 'Kerberos groups',
          searchBase: dataset.containers.group,
          keytabOf: 'second',
        }),
        schedule: NEVER,
      }),
    );
    expect(users.keytabPrincipal).toBe(k.principals.dirgate);
    expect(groups.keytabPrincipal).toBe(k.principals.second);

    // Both at once: the two sessions' ticket requests and binds interleave.
    await Promise.all([
      gw.ok(StartSyncDocument, { connectionId: users.id, mode: 'FULL' }),
      gw.ok(StartSyncDocument, { connectionId: groups.id, mode: 'FULL' }),
    ]);
    const [u, g] = await Promise.all([waitForSync(gw, users.id), waitForSync(gw, groups.id)]);
    expect(u.status, u.lastSync?.error ?? '').toBe('SUCCEEDED');
    expect(g.status, g.lastSync?.error ?? '').toBe('SUCCEEDED');
    const inUsers = dataset.users.filter((x) =>
      x.dn.toLowerCase().endsWith(dataset.containers.user.toLowerCase()),
    );
    expect(u.userCount).toBe(inUsers.length);
    expect(g.groupCount).toBe(dataset.groups.length);

    // And again, each on its own keytab after the other's run.
    const again = await syncNow(gw, groups.id, 120_000);
    expect(again.status, again.lastSync?.error ?? '').toBe('SUCCEEDED');
  }, 240_000);
});

describe('nothing of a Kerberos run outside the data folder, and the keytab nowhere readable', () => {
  let forms: SecretForm[];

  beforeAll(() => {
    forms = [...keytabForms(k.keytabs.dirgate), ...keytabForms(k.keytabs.second)];
  });

  it('leaves no new ticket cache in /tmp or the working directory', () => {
    const after = ticketCacheFiles();
    expect(after.filter((f) => !cachesBefore.includes(f))).toEqual([]);
  });

  it('the scan finds each form it looks for (its own check)', () => {
    const raw = keytabBytes('dirgate');
    const inText = (text: string) => formsIn(Buffer.from(`{"x":"${text}"}`), forms);
    expect(formsIn(Buffer.concat([Buffer.from('head'), raw, Buffer.from('tail')]), forms)).toContain(
      'keytab file bytes',
    );
    expect(inText(raw.toString('base64'))).toContain('keytab base64');
    const keys = forms.filter((f) => f.label.endsWith(' hex'));
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(inText(keys[0]?.bytes.toString() ?? '')).toContain(keys[0]?.label);
  });

  it('no response holds the keytab, whatever Connection field is asked', async () => {
    const fields = await connectionLeafFields(gw);
    expect(fields).toEqual(expect.arrayContaining(['hasKeytab', 'keytabPrincipal', 'kdcs', 'auth']));
    responses.push(await everyConnectionField(gw, fields));
    for (const response of responses) expect(formsIn(response, forms)).toEqual([]);
  });

  it('no log line holds the keytab', () => {
    expect(logs.lines.length).toBeGreaterThan(10);
    const hits = logs.lines.filter((line) => formsIn(JSON.stringify(line), forms).length > 0);
    expect(hits).toEqual([]);
  });

  it('no data-folder file holds the keytab in readable form', async () => {
    // Stopped first, so that everything buffered is on disk.
    await gw.stop();
    expect(filesUnder(gw.dataDir).length).toBeGreaterThan(0);
    expect(filesHolding(gw.dataDir, forms)).toEqual([]);
  });
});
