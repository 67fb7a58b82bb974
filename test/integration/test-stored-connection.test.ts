/**
 * testStoredConnection (#19): a stored connection tested with changes over its settings, merged
 * as updateConnection merges them, binding with the stored password while it binds where and
 * how it did, and refusing (PASSWORD_REQUIRED, as updateConnection does) when a change would
 * send that password elsewhere: a raw TCP listener shows it never receives a byte of it. A
 * record edited outside the API does not open its password for a test either.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKvStore } from '../../src/store/kv-store.js';
import { SettingsStore } from '../../src/store/settings-store.js';
import {
  ConnectionByIdDocument,
  TestStoredConnectionDocument,
  type UpdateConnectionInput,
} from '../gql/graphql.js';
import { sharedCertificates, sharedSlapd } from '../support/directories.js';
import { type RecordingServer, recordingLdapServer } from '../support/fault-servers.js';
import { READER_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { addSlapdConnection } from '../support/sync.js';

const slapd = sharedSlapd();
/** The listener never answers: a test that reaches it ends at this timeout. */
const ENV = { DIRGATE_LDAP_OPERATION_TIMEOUT_MS: '1000', DIRGATE_LDAP_CONNECT_TIMEOUT_MS: '1000' };

let gw: TestGateway;
let listener: RecordingServer;
let id: string;

beforeAll(async () => {
  gw = await startTestGateway({ env: ENV });
  listener = await recordingLdapServer();
  id = await addSlapdConnection(gw, slapd, { name: 'stored', includeContacts: false });
});

afterAll(async () => {
  await listener?.close();
  await gw?.dispose();
});

function test(input: UpdateConnectionInput | undefined, token?: string) {
  return gw.request(TestStoredConnectionDocument, { id, ...(input ? { input } : {}) }, token);
}

function heardPassword(): boolean {
  return listener.bytes().includes(Buffer.from(slapd.reader.password));
}

describe('testStoredConnection', () => {
  it('binds with the stored password, unchanged or with changes that keep the endpoint', async () => {
    const plain = await test(undefined);
    expect(plain.errors).toBeUndefined();
    expect(plain.data?.testStoredConnection).toMatchObject({ ok: true, server: slapd.url });
    const bind = plain.data?.testStoredConnection.steps.find((s) => s.step === 'BIND');
    expect(bind?.ok).toBe(true);
    expect(plain.data?.testStoredConnection.users).toBeGreaterThan(0);

    // Name, schedule and filters are merged over the stored settings: the filter is the one counted.
    const changed = await test({
      name: 'renamed in the form',
      schedule: '0 3 * * *',
      userFilter: '(uid=no-such-user-anywhere)',
    });
    expect(changed.errors).toBeUndefined();
    expect(changed.data?.testStoredConnection).toMatchObject({ ok: true, users: 0 });
    // Nothing was stored.
    const { connection } = await gw.ok(ConnectionByIdDocument, { id });
    expect(connection).toMatchObject({ name: 'stored', hasBindPassword: true });
    expect(connection?.schedule).not.toBe('0 3 * * *');

    // A wrong password typed in the form is the one tried, not the stored one.
    const typed = await test({ bindPassword: 'not-the-password' });
    expect(typed.data?.testStoredConnection.ok).toBe(false);
    expect(typed.data?.testStoredConnection.steps.find((s) => !s.ok)?.step).toBe('BIND');
  });

  it('refuses every change of where or how it binds without the password; the new host hears nothing', async () => {
    const changes: [string, UpdateConnectionInput][] = [
      ['servers', { servers: [listener.url] }],
      ['servers', { servers: [slapd.url, listener.url] }],
      ['servers', { servers: [] }],
      ['tls', { tls: 'STARTTLS' }],
      ['tlsVerify', { tlsVerify: false }],
      ['caCertificate', { caCertificate: sharedCertificates().ca.pem }],
      ['bindDn', { bindDn: slapd.admin.dn }],
    ];
    for (const [field, change] of changes) {
      const refused = await test({ ...change, name: 'moved' });
      expect(refused.data, field).toBeNull();
      expect(refused.errors?.[0]?.extensions, field).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'bindPassword',
        reason: 'PASSWORD_REQUIRED',
      });
      expect(refused.errors?.[0]?.message, field).toContain(`${field} changed`);
    }
    expect(listener.accepted()).toBe(0);
    expect(heardPassword()).toBe(false);

    // With a password given, the test goes where the changes point, with that password only.
    const given = await test({ servers: [listener.url], bindPassword: 'typed-for-the-new-host' });
    expect(given.data?.testStoredConnection.ok).toBe(false);
    expect(listener.accepted()).toBeGreaterThan(0);
    expect(listener.bytes().includes(Buffer.from('typed-for-the-new-host'))).toBe(true);
    expect(heardPassword()).toBe(false);
  });

  it('is refused to a reader, for an unknown id, and for a domain', async () => {
    const reader = await test(undefined, READER_TOKEN);
    expect(reader.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const unknown = await gw.request(TestStoredConnectionDocument, { id: 'no-such-connection' });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const domain = await test({ domain: 'evil.example' } as never);
    expect(domain.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('a record edited outside the API', () => {
  it('does not open its password for a test: refused before anything connects', async () => {
    const edited = await startTestGateway({ env: ENV });
    const own = await recordingLdapServer();
    try {
      const editedId = await addSlapdConnection(edited, slapd, { name: 'edited' });
      await edited.stop();
      // Someone who can write the settings store points the connection at their host.
      const settings = new SettingsStore(
        await openKvStore(`sqlite://${path.join(edited.dataDir, 'settings.sqlite')}`, 'dirgate-settings'),
      );
      try {
        const record = await settings.getConnection(editedId);
        if (!record) throw new Error('connection not stored');
        await settings.putConnection({ ...record, servers: [own.url] });
      } finally {
        await settings.close();
      }
      const again = await startTestGateway({ env: ENV, dataDir: edited.dataDir });
      try {
        const refused = await again.request(TestStoredConnectionDocument, { id: editedId });
        expect(refused.errors?.[0]?.extensions).toMatchObject({
          field: 'bindPassword',
          reason: 'PASSWORD_UNREADABLE',
        });
        expect(refused.errors?.[0]?.message).toContain('edited outside the API');
        expect(own.accepted()).toBe(0);
      } finally {
        await again.dispose();
      }
    } finally {
      await own.close();
    }
  });
});
