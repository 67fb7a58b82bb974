/**
 * Peers that accept a connection and then say nothing: every step must give
 * up within its bound, whatever TLS mode, and leave no socket open.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  type LdapLimits,
  type LdapSettings,
  NoServerAvailableError,
  openSession,
  TimeoutError,
  testConnection,
} from '../../src/ldap/index.js';
import { type FaultServer, hangAfterBindLdapServer, silentLdapServer } from '../support/fault-servers.js';

const LIMITS: LdapLimits = { ...DEFAULT_LIMITS, connectTimeoutMs: 400, operationTimeoutMs: 400 };

const servers: FaultServer[] = [];

/**
 * A peer that swallows bytes; with `answerBind`, one that answers the first
 * LDAP message (the bind) with success and then goes silent.
 */
async function fakeServer(options: { answerBind?: boolean } = {}): Promise<FaultServer> {
  const fake = options.answerBind ? await hangAfterBindLdapServer() : await silentLdapServer();
  servers.push(fake);
  return fake;
}

function settingsFor(url: string, tls: LdapSettings['tls']): LdapSettings {
  return {
    domain: 'corp.test',
    searchBase: 'dc=corp,dc=test',
    servers: [url],
    tls,
    caCertificate: null,
    tlsVerify: true,
    // The plain-LDAP peers must be reached at the bind step, not refused before it.
    allowPlaintextBind: true,
    auth: 'SIMPLE',
    bindDn: 'cn=reader,dc=corp,dc=test',
    bindPassword: 'secret-password',
    keytab: null,
    keytabPrincipal: null,
    kdcs: [],
    includeContacts: true,
    overrides: {},
  };
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('a server that accepts and never answers', () => {
  const cases = [
    { tls: 'NONE', scheme: 'ldap', step: 'BIND' },
    { tls: 'STARTTLS', scheme: 'ldap', step: 'TLS' },
    { tls: 'LDAPS', scheme: 'ldaps', step: 'TLS' },
  ] as const;

  for (const { tls, scheme, step } of cases) {
    it(`times out at ${step} over ${tls} within the bound and closes the socket`, async () => {
      const fake = await fakeServer();
      const started = performance.now();
      const err = await openSession(settingsFor(`${scheme}://127.0.0.1:${fake.port}`, tls), LIMITS).catch(
        (e: unknown) => e,
      );
      const elapsed = performance.now() - started;
      expect(err).toBeInstanceOf(NoServerAvailableError);
      const cause = (err as NoServerAvailableError).causes[0];
      expect(cause).toBeInstanceOf(TimeoutError);
      expect(cause?.step).toBe(step);
      expect(elapsed).toBeLessThan(1500);
      expect(await waitUntil(() => fake.open() === 0, 1000)).toBe(true);
    });
  }

  it('bounds a search page when the bind was answered', async () => {
    const fake = await fakeServer({ answerBind: true });
    const started = performance.now();
    const err = await openSession(settingsFor(fake.url, 'NONE'), LIMITS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoServerAvailableError);
    const cause = (err as NoServerAvailableError).causes[0];
    expect(cause).toBeInstanceOf(TimeoutError);
    expect(cause?.step).toBe('SEARCH');
    expect(performance.now() - started).toBeLessThan(1500);
    expect(await waitUntil(() => fake.open() === 0, 1000)).toBe(true);
  });

  it('moves on to the next server after a silent one', async () => {
    const silent = await fakeServer();
    const refused = 'ldap://127.0.0.1:1';
    const err = await openSession(
      { ...settingsFor(silent.url, 'NONE'), servers: [silent.url, refused] },
      LIMITS,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoServerAvailableError);
    expect((err as NoServerAvailableError).attempts.map((a) => [a.server, a.code])).toEqual([
      [silent.url.replace(/\/$/, ''), 'TIMEOUT'],
      ['ldap://127.0.0.1:1', 'CONNECTION_REFUSED'],
    ]);
    expect((err as Error).message).not.toContain('secret-password');
  });

  it('is reported by testConnection at the step that hung', async () => {
    const fake = await fakeServer();
    const report = await testConnection(settingsFor(`ldaps://127.0.0.1:${fake.port}`, 'LDAPS'), LIMITS);
    expect(report.ok).toBe(false);
    expect(report.steps.map((s) => [s.step, s.ok])).toEqual([
      ['TCP', true],
      ['TLS', false],
    ]);
    expect(report.error).toMatch(/timed out/);
  });
});
