/**
 * A password is never sent without TLS unless the connection says so (issue
 * #16, `allowPlaintextBind`): the run fails at the bind step saying how to fix
 * it, testConnection reports the same step, and the server never receives the
 * password; TLS (StartTLS) binds, anonymous binds and connections that allow
 * plaintext go on working.
 */
import { describe, expect, it } from 'vitest';
import {
  AddConnectionDocument,
  type AddConnectionInput,
  ConnectionByIdDocument,
  TestConnectionDocument,
  UpdateConnectionDocument,
} from '../gql/graphql.js';
import { recordingLdapServer } from '../support/fault-servers.js';
import { privateSlapd } from '../support/fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { slapdSettings, syncNow } from '../support/sync.js';

const directory = privateSlapd({ users: 8, groups: 2, contacts: 1, seed: 'plaintext' });

/** The fix the refusal must name, so that an administrator knows what to change. */
const REFUSAL =
  /refusing to send the bind password to ldap:\/\/127\.0\.0\.1:\d+ without TLS: set tls to STARTTLS or LDAPS \(or allowPlaintextBind: true/;

/** The test slapd over plain ldap://, with a password, and `allowPlaintextBind` left to its default. */
function plainInput(input: Partial<AddConnectionInput> = {}): AddConnectionInput {
  const { allowPlaintextBind: _, ...settings } = slapdSettings(directory.slapd);
  return { name: 'Plain', domain: 'corp.test', includeContacts: true, ...settings, ...input };
}

async function added(gw: TestGateway, input: AddConnectionInput): Promise<string> {
  return (await gw.ok(AddConnectionDocument, { input })).addConnection.id;
}

describe('a password bind without TLS', () => {
  it('is refused by default: the run fails at BIND naming the fix, and the server never sees the password', async () => {
    const listener = await recordingLdapServer();
    const gw = await startTestGateway();
    try {
      const id = await added(gw, plainInput({ servers: [listener.url] }));
      const c = (await gw.ok(ConnectionByIdDocument, { id })).connection;
      expect(c?.allowPlaintextBind).toBe(false);

      const failed = await syncNow(gw, id, 30_000);
      expect(failed.status).toBe('FAILED');
      expect(failed.lastSync?.error).toMatch(REFUSAL);
      // Connected (the path is checked up to the bind), then nothing sent: no bind request at all.
      expect(listener.accepted()).toBeGreaterThan(0);
      expect(listener.bytes().length).toBe(0);
      expect(listener.bytes().includes(Buffer.from(directory.slapd.reader.password))).toBe(false);
    } finally {
      await gw.stop();
      await listener.close();
    }
  });

  it('is reported by testConnection at the BIND step, after DNS and TCP succeeded', async () => {
    const gw = await startTestGateway();
    try {
      const { testConnection: report } = await gw.ok(TestConnectionDocument, { input: plainInput() });
      expect(report.ok).toBe(false);
      expect(report.error).toMatch(REFUSAL);
      expect(report.steps.map((s) => [s.step, s.ok])).toEqual([
        ['TCP', true],
        ['BIND', false],
      ]);
      expect(report.steps.at(-1)?.detail).toMatch(REFUSAL);

      const allowed = await gw.ok(TestConnectionDocument, {
        input: plainInput({ allowPlaintextBind: true }),
      });
      expect(allowed.testConnection.ok, allowed.testConnection.error ?? '').toBe(true);
    } finally {
      await gw.stop();
    }
  });

  it('binds over StartTLS, anonymously, or with allowPlaintextBind set; setting it later needs the password', async () => {
    const { slapd } = directory;
    const gw = await startTestGateway();
    try {
      const tlsId = await added(
        gw,
        plainInput({ name: 'StartTLS', tls: 'STARTTLS', caCertificate: slapd.certificates.ca.pem }),
      );
      expect((await syncNow(gw, tlsId)).status).toBe('SUCCEEDED');

      const anonymous = await gw.ok(TestConnectionDocument, {
        input: plainInput({ bindDn: null, bindPassword: null }),
      });
      expect(anonymous.testConnection.steps.find((s) => s.step === 'BIND')).toMatchObject({ ok: true });

      const id = await added(gw, plainInput({ searchBase: `ou=Users,${slapd.baseDn}` }));
      expect((await syncNow(gw, id, 30_000)).status).toBe('FAILED');
      // Allowing plaintext changes how the password travels: it must be given again (#16).
      const refused = await gw.request(UpdateConnectionDocument, { id, input: { allowPlaintextBind: true } });
      expect(refused.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'bindPassword',
        reason: 'PASSWORD_REQUIRED',
      });
      await gw.ok(UpdateConnectionDocument, {
        id,
        input: { allowPlaintextBind: true, bindPassword: slapd.reader.password },
      });
      const synced = await syncNow(gw, id);
      expect(synced.status, synced.lastSync?.error ?? '').toBe('SUCCEEDED');
      expect(synced.allowPlaintextBind).toBe(true);
      expect(synced.userCount).toBeGreaterThan(0);
    } finally {
      await gw.stop();
    }
  });
});
