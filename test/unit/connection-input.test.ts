import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULE } from '../../src/model/connection.js';
import { ValidationError } from '../../src/model/errors.js';
import {
  type ConnectionInput,
  LIMITS,
  validateBindDn,
  validateCaCertificate,
  validateNetbiosName,
  validateNew,
  validateSchedule,
  validateServerUrl,
} from '../../src/sync/connection-input.js';

/** A self-signed P-256 certificate (CN=dirgate test CA, valid until 2126). */
const CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBizCCATGgAwIBAgIUS1lfnDdiNftEkEFW1cnQ/nQAc68wCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPZGlyZ2F0ZSB0ZXN0IENBMCAXDTI2MTEyODAwNDk1NloYDzIx
MjYxMTA0MDA0OTU2WjAaMRgwFgYDVQQDDA9kaXJnYXRlIHRlc3QgQ0EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAASYvGvQX4l6VpMTv0G+So0WsJmiWwmWu8L7br6Y
UXFlM3Sl0/PRo3xDjrz6CUj1wHmVeILe2LlquBuzHT+vw1yzo1MwUTAdBgNVHQ4E
FgQUMNyIEqnc/RkefHeOeDWZe21Y7HUwHwYDVR0jBBgwFoAUMNyIEqnc/RkefHeO
eDWZe21Y7HUwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEA1/F+
mKgyvCRwy7Jye+4Upxqo2nGWz7rA7IPfGumfnNACIDc/1YouBbb0gty11rlXGEAp
o1aDAmVLR8dUCd7jfgKg
-----END CERTIFICATE-----`;

const BASE = { name: 'Corp staff', domain: 'corp.test', searchBase: 'OU=Staff,DC=corp,DC=test' } as const;

type NewInput = ConnectionInput & { name: string; domain: string; searchBase: string };

/** The ValidationError `run` throws (fails the test when it throws none or another error). */
function refusal(run: () => unknown): ValidationError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('the input was accepted');
}

function expectRefused(input: Partial<NewInput>, field: string, reason: string): ValidationError {
  const err = refusal(() => validateNew({ ...BASE, ...input }));
  expect({ field: err.field, reason: err.reason, code: err.code }).toEqual({
    field,
    reason,
    code: 'BAD_USER_INPUT',
  });
  expect(err.message.startsWith(`${field}: `)).toBe(true);
  return err;
}

describe('validateNew defaults', () => {
  it('fills in the contract defaults for what is not given', () => {
    const c = validateNew({ ...BASE });
    expect(c).toEqual({
      name: 'Corp staff',
      domain: 'corp.test',
      searchBase: 'OU=Staff,DC=corp,DC=test',
      servers: [],
      tls: 'NONE',
      caCertificate: null,
      tlsVerify: true,
      allowPlaintextBind: false,
      bindDn: null,
      auth: 'ANONYMOUS',
      keytabPrincipal: null,
      kdcs: [],
      includeContacts: false,
      schedule: '*/30 * * * *',
      incrementalSchedule: '* * * * *',
      enabled: true,
      deleteThreshold: null,
      overrides: {},
    });
    expect(DEFAULT_SCHEDULE).toBe('*/30 * * * *');
  });

  it('takes an empty incremental schedule as off, and refuses one firing more than once a minute', () => {
    expect(validateNew({ ...BASE, incrementalSchedule: '  ' }).incrementalSchedule).toBeNull();
    expect(validateNew({ ...BASE, incrementalSchedule: '*/5 * * * *' }).incrementalSchedule).toBe(
      '*/5 * * * *',
    );
    expect(() => validateNew({ ...BASE, incrementalSchedule: '*/30 * * * * *' })).toThrow(
      expect.objectContaining({ field: 'incrementalSchedule', reason: 'INTERVAL_TOO_SHORT' }),
    );
    // A value listed twice is one run (cron-parser keeps the repeat).
    expect(validateNew({ ...BASE, incrementalSchedule: '0,30,0 * * * *' }).incrementalSchedule).toBe(
      '0,30,0 * * * *',
    );
    expect(() => validateNew({ ...BASE, incrementalSchedule: 'every minute' })).toThrow(
      expect.objectContaining({ field: 'incrementalSchedule', reason: 'INVALID_CRON' }),
    );
  });

  it('treats nulls like absent values', () => {
    const c = validateNew({
      ...BASE,
      servers: null,
      tls: null,
      tlsVerify: null,
      bindDn: null,
      includeContacts: null,
      schedule: null,
      enabled: null,
      deleteThreshold: null,
      caCertificate: null,
    });
    expect(c.tls).toBe('NONE');
    expect(c.schedule).toBe('*/30 * * * *');
    expect(c.tlsVerify).toBe(true);
    expect(c.enabled).toBe(true);
    expect(c.includeContacts).toBe(false);
  });

  it('keeps what is given', () => {
    const c = validateNew({
      ...BASE,
      tls: 'LDAPS',
      servers: ['ldaps://dc1.corp.test:636'],
      tlsVerify: false,
      includeContacts: true,
      enabled: false,
      schedule: '0 */2 * * *',
      deleteThreshold: 0.2,
      bindDn: 'CN=svc,OU=Service,DC=corp,DC=test',
      caCertificate: CA_PEM,
      userFilter: '(&(objectClass=user)(mail=*))',
    });
    expect(c).toMatchObject({
      tls: 'LDAPS',
      servers: ['ldaps://dc1.corp.test:636'],
      tlsVerify: false,
      includeContacts: true,
      enabled: false,
      schedule: '0 */2 * * *',
      deleteThreshold: 0.2,
      bindDn: 'CN=svc,OU=Service,DC=corp,DC=test',
      caCertificate: CA_PEM,
      overrides: { userFilter: '(&(objectClass=user)(mail=*))' },
    });
  });

  it('trims the name, lower-cases the domain and drops its final dot', () => {
    const c = validateNew({ ...BASE, name: '  Staff  ', domain: ' Corp.TEST. ' });
    expect(c.name).toBe('Staff');
    expect(c.domain).toBe('corp.test');
  });
});

describe('validateNew rules', () => {
  it.each(['', '   '])('refuses the empty name %j', (name) => {
    expectRefused({ name }, 'name', 'EMPTY');
  });

  it.each(['corp test', '-corp.test', 'corp..test', 'corp_test.local', `${'a'.repeat(64)}.test`, ''])(
    'refuses the domain %j',
    (domain) => {
      expectRefused({ domain }, 'domain', 'INVALID_DOMAIN');
    },
  );

  it.each(['not a dn', '=x', 'cn=', 'dc=corp,dc=test,', 'cn=a=b,dc=test'])(
    'refuses the search base %j',
    (searchBase) => {
      expectRefused({ searchBase }, 'searchBase', 'INVALID_DN');
    },
  );

  it.each(['http://dc1.corp.test', 'dc1.corp.test', 'ftp://dc1.corp.test', 'not a url'])(
    'refuses the server %j as not ldap',
    (url) => {
      expectRefused({ servers: ['ldap://ok.corp.test', url] }, 'servers[1]', 'INVALID_URL');
    },
  );

  it.each([
    'ldap://dc1.corp.test/dc=corp',
    'ldap://dc1.corp.test?cn',
    'ldap://user:pw@dc1.corp.test',
    'ldap://',
  ])('refuses the server %j that is more than scheme://host[:port]', (url) => {
    expectRefused({ servers: [url] }, 'servers[0]', 'INVALID_URL');
  });

  it('refuses ldap:// servers with tls LDAPS and ldaps:// servers without it', () => {
    expectRefused({ tls: 'LDAPS', servers: ['ldap://dc1.corp.test'] }, 'servers[0]', 'TLS_MISMATCH');
    expectRefused({ tls: 'NONE', servers: ['ldaps://dc1.corp.test'] }, 'servers[0]', 'TLS_MISMATCH');
    expectRefused({ tls: 'STARTTLS', servers: ['ldaps://dc1.corp.test'] }, 'servers[0]', 'TLS_MISMATCH');
    expect(validateNew({ ...BASE, tls: 'STARTTLS', servers: ['ldap://dc1.corp.test'] }).servers).toEqual([
      'ldap://dc1.corp.test',
    ]);
  });

  it.each(['* * * *', '*/5 * * * * * *', '61 * * * *', 'every half hour', 'a b c d e', '* * * * 9'])(
    'refuses the schedule %j',
    (schedule) => {
      expectRefused({ schedule }, 'schedule', 'INVALID_CRON');
    },
  );

  it.each([
    ['*/2 * * * * *', '2 seconds', '00:00:00 and 00:00:02'],
    ['* */30 * * *', '1 minute', '00:00:00 and 00:01:00'],
    ['0,4 * * * *', '4 minutes', '00:00:00 and 00:04:00'],
    ['0,58 0,23 * * *', '2 minutes', '23:58:00 and 00:00:00 the next day'],
  ])('refuses the schedule %j, closer than five minutes by default', (schedule, gap, between) => {
    const err = expectRefused({ schedule }, 'schedule', 'INTERVAL_TOO_SHORT');
    expect(err.message).toContain(`runs ${gap} apart (at ${between})`);
  });

  it('takes the minimum interval from the rules, and none at 0', () => {
    expect(
      validateNew({ ...BASE, schedule: '*/2 * * * * *' }, { minScheduleIntervalMs: 2000 }).schedule,
    ).toBe('*/2 * * * * *');
    expect(() =>
      validateNew({ ...BASE, schedule: '*/10 * * * *' }, { minScheduleIntervalMs: 3_600_000 }),
    ).toThrow(/runs 10 minutes apart.*the shortest interval allowed is 60 minutes/);
    expect(validateNew({ ...BASE, schedule: '* * * * * *' }, { minScheduleIntervalMs: 0 }).schedule).toBe(
      '* * * * * *',
    );
    expect(validateNew({ ...BASE, schedule: '*/5 * * * *' }).schedule).toBe('*/5 * * * *');
    expect(validateNew({ ...BASE, schedule: '0 2 * * 1-5' }).schedule).toBe('0 2 * * 1-5');
  });

  it('accepts 5- and 6-field cron expressions', () => {
    expect(validateSchedule(' 0 * * * * ')).toBe('0 * * * *');
    expect(validateSchedule('0 */15 * * * *')).toBe('0 */15 * * * *');
    expect(validateSchedule('0 2 * * 1-5')).toBe('0 2 * * 1-5');
  });

  it.each([
    ['no PEM at all', 'hello'],
    ['a PEM block that is not a certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'],
    ['a private key', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----'],
  ])('refuses a CA certificate with %s', (_what, caCertificate) => {
    expectRefused({ caCertificate }, 'caCertificate', 'INVALID_CERTIFICATE');
  });

  it('keeps only the certificates of a CA bundle, surrounding text dropped', () => {
    expect(validateCaCertificate(`Subject: test\n${CA_PEM}\ntrailing`)).toBe(CA_PEM);
    expect(validateCaCertificate(`${CA_PEM}\n\n${CA_PEM}\n`)).toBe(`${CA_PEM}\n${CA_PEM}`);
  });

  it('refuses a bundle in which one certificate is broken', () => {
    const broken = CA_PEM.replace('MIIBizCCATGg', 'MIIBizCCATGX');
    expect(refusal(() => validateCaCertificate(`${CA_PEM}\n${broken}`)).reason).toBe('INVALID_CERTIFICATE');
  });

  it.each(['CN=svc,OU=Service,DC=corp,DC=test', 'svc-dirgate@corp.test', 'CORP\\svc-dirgate'])(
    'accepts the bind name %j',
    (bindDn) => {
      expect(validateNew({ ...BASE, bindDn }).bindDn).toBe(bindDn);
      expect(validateBindDn(` ${bindDn} `)).toBe(bindDn);
    },
  );

  it.each(['svc dirgate', 'a@b@c', 'CORP\\svc\\x', 'cn='])('refuses the bind name %j', (bindDn) => {
    expectRefused({ bindDn }, 'bindDn', 'INVALID_DN');
  });

  it('treats a blank bind name as an anonymous bind', () => {
    expect(validateNew({ ...BASE, bindDn: '  ' }).bindDn).toBeNull();
  });

  it.each([
    ['name', { name: 'n'.repeat(LIMITS.name + 1) }],
    ['domain', { domain: `${'a.'.repeat(127)}test` }],
    ['searchBase', { searchBase: `cn=${'x'.repeat(LIMITS.dn)}` }],
    ['bindDn', { bindDn: `cn=${'x'.repeat(LIMITS.dn)}` }],
    ['bindPassword', { bindPassword: 'p'.repeat(LIMITS.password + 1) }],
    ['servers[0]', { servers: [`ldap://${'h'.repeat(LIMITS.url)}.test`] }],
    ['schedule', { schedule: `0 * * * ${'*'.repeat(LIMITS.schedule)}` }],
    ['userFilter', { userFilter: `(cn=${'x'.repeat(LIMITS.filter)})` }],
  ] as const)('refuses an over-long %s', (field, input) => {
    expectRefused(input, field, 'TOO_LONG');
  });

  it('accepts values right at their length limit', () => {
    expect(validateNew({ ...BASE, name: 'n'.repeat(LIMITS.name) }).name).toHaveLength(LIMITS.name);
  });

  it.each([
    ['name', { name: 'a\u0000b' }],
    ['searchBase', { searchBase: 'dc=corp\ud800' }],
    ['bindPassword', { bindPassword: 'pw\u0000' }],
  ] as const)('refuses NUL and lone surrogates in %s', (field, input) => {
    expectRefused(input, field, 'INVALID_TEXT');
  });

  it('refuses more servers than the limit', () => {
    const servers = Array.from({ length: LIMITS.servers + 1 }, (_, i) => `ldap://dc${i}.corp.test`);
    expectRefused({ servers }, 'servers', 'TOO_MANY');
    expect(validateNew({ ...BASE, servers: servers.slice(1) }).servers).toHaveLength(LIMITS.servers);
  });

  it.each([-0.01, 1.01, Number.NaN, Number.POSITIVE_INFINITY])('refuses the delete threshold %s', (t) => {
    expectRefused({ deleteThreshold: t }, 'deleteThreshold', 'OUT_OF_RANGE');
  });

  it.each([0, 1, 0.5])('accepts the delete threshold %s', (t) => {
    expect(validateNew({ ...BASE, deleteThreshold: t }).deleteThreshold).toBe(t);
  });

  it.each(['objectClass=user', '(objectClass=user', '(a))('])('refuses the filter %j', (userFilter) => {
    expectRefused({ userFilter }, 'userFilter', 'INVALID_FILTER');
  });

  // Balanced, so a parenthesis count alone passed them; the LDAP parser does not (#16).
  it.each([
    ['(c n=a)', /is not an LDAP filter: Invalid expression/],
    ['(=user)', /is not an LDAP filter: Invalid attribute name/],
    ['(cn=a\\zz)', /is not an LDAP filter: Invalid escaped hex character/],
    ['(|)', /is not an LDAP filter/],
    ['((cn=a))', /is not an LDAP filter/],
    ['(cn=a)(cn=b)', /must be one filter|not an LDAP filter/],
    ['(cn=caf\\c3\\a9)', /escape \\c3 of a non-ASCII byte.*write the character itself/],
  ])('parses the filter %j as the LDAP layer will, and refuses it', (userFilter, message) => {
    expect(expectRefused({ userFilter }, 'userFilter', 'INVALID_FILTER').message).toMatch(message);
  });

  it.each([
    '(&(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))',
    '(memberOf:1.2.840.113556.1.4.1941:=cn=Staff,ou=Groups,dc=corp,dc=test)',
    '(cn=*\\2a*)',
    '(cn=café)',
    '(|(mail=*)(proxyAddresses=smtp:*))',
  ])('accepts the filter %j as written', (userFilter) => {
    expect(validateNew({ ...BASE, userFilter }).overrides.userFilter).toBe(userFilter);
  });

  it('names the group and contact filters when they are wrong', () => {
    expectRefused({ groupFilter: 'x' }, 'groupFilter', 'INVALID_FILTER');
    expectRefused({ contactFilter: '(x' }, 'contactFilter', 'INVALID_FILTER');
  });
});

describe('server URLs', () => {
  it('normalizes to scheme://host[:port]', () => {
    expect(validateServerUrl('s', ' LDAP://dc1.corp.test/ ', 'NONE')).toBe('ldap://dc1.corp.test');
    expect(validateServerUrl('s', 'ldaps://dc1.corp.test:3269', 'LDAPS')).toBe('ldaps://dc1.corp.test:3269');
    expect(validateServerUrl('s', 'ldap://[::1]:389', 'NONE')).toBe('ldap://[::1]:389');
  });

  it('keeps the order and drops repeated servers', () => {
    const c = validateNew({
      ...BASE,
      servers: [
        'ldap://dc2.corp.test',
        'ldap://dc1.corp.test',
        'ldap://dc2.corp.test/',
        'LDAP://dc1.corp.test',
      ],
    });
    expect(c.servers).toEqual(['ldap://dc2.corp.test', 'ldap://dc1.corp.test']);
  });

  it('treats host names that differ only in case as the same server', () => {
    const c = validateNew({ ...BASE, servers: ['ldap://DC1.Corp.Test:389', 'ldap://dc1.corp.test:389'] });
    expect(c.servers).toEqual(['ldap://dc1.corp.test:389']);
  });
});

describe('NetBIOS name override', () => {
  it('accepts a NetBIOS domain name and keeps it with the overrides', () => {
    const valid = validateNew({
      name: 'x',
      domain: 'corp.test',
      searchBase: 'dc=corp,dc=test',
      netbiosName: ' CORP ',
    });
    expect(valid.overrides.netbiosName).toBe('CORP');
  });

  it.each(['', 'SIXTEEN-CHARS-XX', 'CO RP', 'CORP\\X', '.CORP'])(
    'refuses %j with field netbiosName',
    (name) => {
      let caught: unknown;
      try {
        validateNetbiosName(name);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ValidationError);
      expect((caught as ValidationError).field).toBe('netbiosName');
    },
  );
});
