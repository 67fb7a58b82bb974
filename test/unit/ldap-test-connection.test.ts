import { describe, expect, it } from 'vitest';
import { resolveEndpoint } from '../../src/ldap/client.js';
import { DEFAULT_LIMITS, type LdapSettings, openSession, testConnection } from '../../src/ldap/index.js';

const settings: LdapSettings = {
  domain: 'corp.test',
  searchBase: 'dc=corp,dc=test',
  servers: ['ldap://127.0.0.1:389'],
  tls: 'NONE',
  caCertificate: null,
  tlsVerify: true,
  allowPlaintextBind: true,
  auth: 'SIMPLE',
  bindDn: 'cn=reader,dc=corp,dc=test',
  bindPassword: 'pw',
  keytab: null,
  keytabPrincipal: null,
  kdcs: [],
  includeContacts: true,
  overrides: {},
};

describe('resolveEndpoint', () => {
  it('never downgrades TLS and fills default ports', () => {
    expect(resolveEndpoint('ldap://dc1.corp.test', 'NONE')).toMatchObject({
      url: 'ldap://dc1.corp.test:389',
      transport: 'NONE',
    });
    expect(resolveEndpoint('ldap://dc1.corp.test', 'STARTTLS').transport).toBe('STARTTLS');
    expect(resolveEndpoint('ldap://dc1.corp.test', 'LDAPS')).toMatchObject({
      url: 'ldaps://dc1.corp.test:636',
      transport: 'LDAPS',
    });
    expect(resolveEndpoint('ldaps://dc1.corp.test', 'NONE').transport).toBe('LDAPS');
    expect(resolveEndpoint('ldaps://[::1]:1636', 'LDAPS')).toMatchObject({ host: '::1', port: 1636 });
  });

  it('rejects other schemes', () => {
    expect(() => resolveEndpoint('http://dc1', 'NONE')).toThrow(/ldap:\/\/ or ldaps:\/\//);
    expect(() => resolveEndpoint('not a url', 'NONE')).toThrow(/invalid server URL/);
  });
});

describe('testConnection without reaching a server', () => {
  it('reports an unusable URL as a failed step instead of throwing', async () => {
    const report = await testConnection({ ...settings, servers: ['http://dc1.corp.test'] }, DEFAULT_LIMITS);
    expect(report.ok).toBe(false);
    expect(report.steps).toHaveLength(1);
    expect(report.steps[0]).toMatchObject({ step: 'TCP', ok: false });
    expect(report.error).toMatch(/ldap:\/\/ or ldaps:\/\//);
  });

  it('refuses an empty password with a DN before any network step', async () => {
    const report = await testConnection({ ...settings, bindPassword: '' }, DEFAULT_LIMITS);
    expect(report.steps.map((s) => [s.step, s.ok])).toEqual([['BIND', false]]);
    expect(report.error).toMatch(/password is empty/);
    await expect(openSession({ ...settings, bindPassword: null }, DEFAULT_LIMITS)).rejects.toMatchObject({
      code: 'EMPTY_PASSWORD',
    });
  });
});
