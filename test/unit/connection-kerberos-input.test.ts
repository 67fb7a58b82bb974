/**
 * KERBEROS connection settings as entered (#17): the auth method and its
 * defaults, the keytab (base64, checked by src/ldap/kerberos/keytab-check.ts),
 * the KDC list; and how the store keeps a keytab: sealed, bound to the
 * connection's endpoint and KDCs, covered by the secret key check, and read
 * back from records stored before Kerberos.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/environment.js';
import { createLogger } from '../../src/logging.js';
import type { ConnectionRecord } from '../../src/model/connection.js';
import { ValidationError } from '../../src/model/errors.js';
import { KeyCheckError, loadCheckedSecrets } from '../../src/store/key-check.js';
import { openKvStore } from '../../src/store/kv-store.js';
import { SealedSecretError, SecretBox } from '../../src/store/secret-box.js';
import { SettingsStore } from '../../src/store/settings-store.js';
import {
  type ConnectionInput,
  LIMITS,
  type StoredSecrets,
  validateConnection,
  validateKdcs,
} from '../../src/sync/connection-input.js';
import { connectionRecord } from '../support/connections.js';
import { testKey, writeKeytab, writeVersion1Keytab } from '../support/keytabs.js';

const FIXTURES = path.join(import.meta.dirname, '../fixtures/keytabs');
const SAMBA_KEYTAB = readFileSync(path.join(FIXTURES, 'samba-svc-dirgate.keytab'));
const BASE = { name: 'Corp', domain: 'corp.test', searchBase: 'dc=corp,dc=test' };
const RULES = { minScheduleIntervalMs: 0 };

function validate(input: ConnectionInput, stored?: StoredSecrets) {
  return validateConnection({ ...input, ...BASE }, RULES, stored);
}

/** The ValidationError `run` throws (failing the test when it throws none, or another error). */
function refusal(run: () => unknown): ValidationError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

const kerberos = (keytab: Buffer | string, more: ConnectionInput = {}): ConnectionInput => ({
  auth: 'KERBEROS',
  servers: ['ldap://dc1.corp.test'],
  keytab: typeof keytab === 'string' ? keytab : keytab.toString('base64'),
  ...more,
});

describe('auth', () => {
  it('defaults to SIMPLE with a bindDn and ANONYMOUS without, as records from before Kerberos read', () => {
    expect(validate({ bindDn: 'cn=reader,dc=corp,dc=test' }).valid.auth).toBe('SIMPLE');
    expect(validate({}).valid.auth).toBe('ANONYMOUS');
    expect(validate({ bindDn: '  ' }).valid.auth).toBe('ANONYMOUS');
  });

  it('KERBEROS takes the principal from the keytab and hands the keytab back, checked, for sealing', () => {
    const { valid, keytab } = validate(kerberos(SAMBA_KEYTAB, { kdcs: ['dc1.corp.test'] }));
    expect(valid).toMatchObject({
      auth: 'KERBEROS',
      bindDn: null,
      keytabPrincipal: 'svc-dirgate@CORP.TEST',
      kdcs: ['dc1.corp.test'],
    });
    expect(keytab?.bytes.equals(SAMBA_KEYTAB)).toBe(true);
    expect(keytab?.summary).toMatchObject({ realm: 'CORP.TEST', kvno: 2 });
  });

  it('reads base64 wrapped over lines, as base64(1) writes it', () => {
    const wrapped = SAMBA_KEYTAB.toString('base64').replace(/.{76}/g, '$&\n');
    expect(wrapped).toContain('\n');
    expect(validate(kerberos(wrapped)).keytab?.bytes.equals(SAMBA_KEYTAB)).toBe(true);
  });

  it('a keytab of the account beside its service names authenticates as the account', () => {
    const file = readFileSync(path.join(FIXTURES, 'svc-dirgate-and-spn.keytab'));
    expect(validate(kerberos(file)).valid.keytabPrincipal).toBe('svc-dirgate@CORP.TEST');
  });

  it('KERBEROS needs a keytab, unless the stored connection keeps one', () => {
    const err = refusal(() => validate({ auth: 'KERBEROS', servers: ['ldap://dc1.corp.test'] }));
    expect([err.field, err.reason]).toEqual(['keytab', 'KEYTAB_REQUIRED']);
    const kept = validate(
      { auth: 'KERBEROS', servers: ['ldap://dc1.corp.test'] },
      { hasKeytab: true, keytabPrincipal: 'svc-dirgate@CORP.TEST' },
    );
    expect(kept.keytab).toBeNull();
    expect(kept.valid.keytabPrincipal).toBe('svc-dirgate@CORP.TEST');
  });

  it('KERBEROS refuses a bindDn or a bindPassword', () => {
    for (const [more, field] of [
      [{ bindDn: 'cn=reader,dc=corp,dc=test' }, 'bindDn'],
      [{ bindPassword: 'secret' }, 'bindPassword'],
      [{ bindDn: 'svc@corp.test', bindPassword: 'secret' }, 'bindDn'],
    ] as const) {
      const err = refusal(() => validate(kerberos(SAMBA_KEYTAB, more)));
      expect(err.field).toBe(field);
      expect(err.message).toContain('a KERBEROS connection takes no bindDn or bindPassword');
    }
  });

  it('a keytab or KDCs without KERBEROS are refused, naming the field', () => {
    const keytab = refusal(() => validate({ keytab: SAMBA_KEYTAB.toString('base64') }));
    expect([keytab.field, keytab.reason]).toEqual(['keytab', 'KEYTAB_NOT_USED']);
    const kdcs = refusal(() => validate({ bindDn: 'cn=r,dc=corp,dc=test', kdcs: ['dc1.corp.test'] }));
    expect([kdcs.field, kdcs.reason]).toEqual(['kdcs', 'KDCS_NOT_USED']);
  });

  it('SIMPLE needs a bindDn; ANONYMOUS given explicitly takes no credentials', () => {
    expect(refusal(() => validate({ auth: 'SIMPLE' })).field).toBe('bindDn');
    expect(refusal(() => validate({ auth: 'ANONYMOUS', bindDn: 'cn=r,dc=corp,dc=test' })).field).toBe(
      'bindDn',
    );
    expect(refusal(() => validate({ auth: 'ANONYMOUS', bindPassword: 'pw' })).field).toBe('bindPassword');
  });
});

describe('unusable keytabs', () => {
  const aes = { principal: 'svc-dirgate@CORP.TEST', kvno: 2, enctype: 18 };
  const cases: readonly (readonly [string, string, string])[] = [
    ['not base64', 'this is not a keytab!', 'KEYTAB_NOT_BASE64'],
    ['empty', '   ', 'KEYTAB_EMPTY'],
    [
      'a text file',
      Buffer.from('[libdefaults]\n default_realm = CORP.TEST\n').toString('base64'),
      'KEYTAB_NOT_A_KEYTAB',
    ],
    [
      'format version 1',
      writeVersion1Keytab({ principal: 'svc@CORP.TEST' }).toString('base64'),
      'KEYTAB_UNSUPPORTED_VERSION',
    ],
    [
      'an unknown format version',
      Buffer.from([5, 9, 0, 0, 0, 0]).toString('base64'),
      'KEYTAB_UNSUPPORTED_VERSION',
    ],
    ['no entries', writeKeytab([]).toString('base64'), 'KEYTAB_EMPTY'],
    ['truncated', writeKeytab([aes]).subarray(0, 40).toString('base64'), 'KEYTAB_TRUNCATED'],
    [
      'only weak enctypes',
      writeKeytab([
        { ...aes, enctype: 3 },
        { ...aes, enctype: 1 },
      ]).toString('base64'),
      'KEYTAB_WEAK_ENCTYPES_ONLY',
    ],
    [
      'no usable key for the newest kvno',
      writeKeytab([aes, { ...aes, kvno: 3, enctype: 3 }]).toString('base64'),
      'KEYTAB_NO_KEY_FOR_CURRENT_KVNO',
    ],
    [
      'two accounts',
      writeKeytab([aes, { ...aes, principal: 'svc-other@CORP.TEST' }]).toString('base64'),
      'KEYTAB_SEVERAL_PRINCIPALS',
    ],
    [
      'two realms',
      writeKeytab([aes, { ...aes, principal: 'svc-dirgate@OTHER.TEST' }]).toString('base64'),
      'KEYTAB_MIXED_REALMS',
    ],
    [
      "the whole domain's export (krbtgt)",
      readFileSync(path.join(FIXTURES, 'samba-whole-domain.keytab')).toString('base64'),
      'KEYTAB_HOLDS_KRBTGT',
    ],
    [
      'a key of the wrong length',
      writeKeytab([{ ...aes, key: testKey(20) }]).toString('base64'),
      'KEYTAB_CORRUPT',
    ],
    ['larger than the limit', Buffer.alloc(LIMITS.keytabBytes + 3, 5).toString('base64'), 'KEYTAB_TOO_LARGE'],
  ];

  it.each(cases)('%s: BAD_USER_INPUT on keytab, without quoting it', (_name, keytab, reason) => {
    const err = refusal(() => validate(kerberos(keytab)));
    expect(err.field).toBe('keytab');
    expect(err.code).toBe('BAD_USER_INPUT');
    expect(err.reason).toBe(reason);
    expect(err.message).toMatch(/^keytab: /);
    if (keytab.trim().length > 8) expect(err.message).not.toContain(keytab.trim().slice(0, 16));
  });

  it('names the principals when it cannot choose one', () => {
    const file = writeKeytab([
      { principal: 'svc-a@CORP.TEST', kvno: 1 },
      { principal: 'svc-b@CORP.TEST', kvno: 1 },
    ]);
    expect(refusal(() => validate(kerberos(file))).message).toMatch(/svc-a@CORP\.TEST.*svc-b@CORP\.TEST/);
  });
});

describe('kdcs', () => {
  it('takes host and host:port, IPv4 and bracketed IPv6, lower-cased, duplicates once', () => {
    expect(
      validateKdcs([
        'DC1.Corp.Test',
        'dc1.corp.test',
        'dc2.corp.test:88',
        '10.0.0.1:750',
        '[::1]:88',
        '[FE80::1]',
      ]),
    ).toEqual(['dc1.corp.test', 'dc2.corp.test:88', '10.0.0.1:750', '[::1]:88', '[fe80::1]']);
  });

  it.each([
    ['::1:88', 'brackets'],
    ['dc1.corp.test:0', 'port'],
    ['dc1.corp.test:65536', 'port'],
    ['dc1.corp.test:http', 'host[:port]'],
    ['kdc one', 'host name'],
    ['[dc1.corp.test]:88', 'IPv6'],
    ['kerberos://dc1.corp.test', 'host[:port]'],
    ['', 'host'],
  ])('refuses %j on kdcs[i]', (kdc, why) => {
    const err = refusal(() => validate(kerberos(SAMBA_KEYTAB, { kdcs: ['dc1.corp.test', kdc] })));
    expect([err.field, err.reason]).toEqual(['kdcs[1]', 'INVALID_KDC']);
    expect(err.message).toContain(why);
  });

  it(`at most ${LIMITS.kdcs}`, () => {
    const many = Array.from({ length: LIMITS.kdcs + 1 }, (_, i) => `kdc${i}.corp.test`);
    expect(validate(kerberos(SAMBA_KEYTAB, { kdcs: many.slice(1) })).valid.kdcs).toHaveLength(LIMITS.kdcs);
    const err = refusal(() => validate(kerberos(SAMBA_KEYTAB, { kdcs: many })));
    expect([err.field, err.reason]).toEqual(['kdcs', 'TOO_MANY']);
  });
});

describe('a sealed keytab', () => {
  const box = new SecretBox(randomBytes(32));
  const record = connectionRecord({
    auth: 'KERBEROS',
    kdcs: ['dc1.corp.test'],
    keytabPrincipal: 'svc-dirgate@CORP.TEST',
  });

  it('opens for its own connection, endpoint and KDCs only', () => {
    const sealed = box.sealKeytab(SAMBA_KEYTAB, record);
    expect(box.openKeytab(sealed, record).equals(SAMBA_KEYTAB)).toBe(true);
    expect(Buffer.from(sealed).includes(SAMBA_KEYTAB)).toBe(false);
    expect(sealed).not.toContain(SAMBA_KEYTAB.toString('base64').slice(0, 24));
    for (const other of [
      { ...record, id: 'c2' },
      { ...record, servers: ['ldap://evil.example'] },
      { ...record, kdcs: ['kdc.evil.example'] },
      { ...record, kdcs: [] },
      { ...record, tls: 'STARTTLS' as const },
    ]) {
      expect(() => box.openKeytab(sealed, other)).toThrow(SealedSecretError);
    }
  });

  it('does not open as a password, nor a password as a keytab', () => {
    const keytab = box.sealKeytab(Buffer.from('secret'), record);
    const password = box.seal('secret', record);
    expect(() => box.open(keytab, record)).toThrow(SealedSecretError);
    expect(() => box.openKeytab(password, record)).toThrow(SealedSecretError);
  });
});

describe('the settings store', () => {
  it('reads a record stored before Kerberos as SIMPLE or ANONYMOUS, without keytab or KDCs', async () => {
    const kv = await openKvStore('memory://', 'dirgate-settings');
    const settings = new SettingsStore(kv);
    try {
      const legacy = (fields: Partial<ConnectionRecord>) => {
        const {
          auth: _a,
          keytabSealed: _k,
          keytabPrincipal: _p,
          kdcs: _d,
          ...old
        } = connectionRecord(fields);
        return old;
      };
      await kv.set('connection:c1', legacy({ id: 'c1', bindDn: 'cn=reader,dc=corp,dc=test' }));
      await kv.set('connection:c2', legacy({ id: 'c2', createdAt: '2025-01-02T00:00:00.000Z' }));
      const [simple, anonymous] = await settings.listConnections();
      expect(simple).toMatchObject({
        id: 'c1',
        auth: 'SIMPLE',
        keytabSealed: null,
        keytabPrincipal: null,
        kdcs: [],
      });
      expect(anonymous).toMatchObject({ id: 'c2', auth: 'ANONYMOUS', keytabSealed: null, kdcs: [] });
      expect((await settings.getConnection('c1'))?.auth).toBe('SIMPLE');
    } finally {
      await settings.close();
    }
  });
});

describe('the secret key check', () => {
  async function withSettings(
    run: (settings: SettingsStore, dataDir: string, logged: string[]) => Promise<void>,
  ) {
    const root = await mkdtemp(path.join(tmpdir(), 'dirgate-kerberos-keycheck-'));
    const settings = new SettingsStore(await openKvStore('memory://', 'dirgate-settings'));
    try {
      await run(settings, path.join(root, 'data'), []);
    } finally {
      await settings.close();
      await rm(root, { recursive: true, force: true });
    }
  }
  const start = (
    settings: SettingsStore,
    dataDir: string,
    logged: string[],
    env: Record<string, string> = {},
  ) =>
    loadCheckedSecrets(
      loadConfig({ DIRGATE_DATA_DIR: dataDir, DIRGATE_NODE_NAME: 'node-a', ...env }),
      settings,
      createLogger('warn', {
        stream: new Writable({
          write(chunk: Buffer, _encoding, done) {
            logged.push(chunk.toString());
            done();
          },
        }),
      }),
    );

  it('a key that opens no sealed keytab is refused; the fingerprint discards the keytab alone', async () => {
    await withSettings(async (settings, dataDir, logged) => {
      const other = new SecretBox(randomBytes(32));
      const record = connectionRecord({ auth: 'KERBEROS', keytabPrincipal: 'svc-dirgate@CORP.TEST' });
      await settings.putConnection({ ...record, keytabSealed: other.sealKeytab(SAMBA_KEYTAB, record) });
      const env = { DIRGATE_SECRET_KEY: randomBytes(32).toString('hex') };
      const err = await start(settings, dataDir, logged, env).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(KeyCheckError);
      const message = (err as Error).message;
      expect(message).toContain('1 sealed keytab');
      expect(message).toContain('opens none of the 1 keytab sealed');
      const fingerprint = /DIRGATE_FORGET_BIND_PASSWORDS=([0-9a-f]{16})/.exec(message)?.[1] ?? '';
      expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);
      await start(settings, dataDir, logged, { ...env, DIRGATE_FORGET_BIND_PASSWORDS: fingerprint });
      const after = await settings.getConnection(record.id);
      expect(after).toMatchObject({ auth: 'KERBEROS', keytabSealed: null, keytabPrincipal: null });
      expect(logged.join('')).toContain('keytab discarded');
    });
  });

  it('a key that opens a sealed keytab is taken, and its check written', async () => {
    await withSettings(async (settings, dataDir, logged) => {
      const key = randomBytes(32);
      const record = connectionRecord({ auth: 'KERBEROS', keytabPrincipal: 'svc-dirgate@CORP.TEST' });
      await settings.putConnection({
        ...record,
        keytabSealed: new SecretBox(key).sealKeytab(SAMBA_KEYTAB, record),
      });
      await start(settings, dataDir, logged, { DIRGATE_SECRET_KEY: key.toString('hex') });
      expect(new SecretBox(key).matchesKeyCheck((await settings.getKeyCheck())?.mac)).toBe(true);
      expect((await settings.getConnection(record.id))?.keytabSealed).not.toBeNull();
    });
  });
});
