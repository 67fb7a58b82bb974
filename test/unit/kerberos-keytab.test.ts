import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeytabError, type KeytabErrorCode, parseKeytab } from '../../src/ldap/kerberos/keytab.js';
import { checkKeytab } from '../../src/ldap/kerberos/keytab-check.js';
import {
  entryBody,
  type KeytabRecord,
  testKey,
  writeKeytab,
  writeVersion1Keytab,
} from '../support/keytabs.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/keytabs/${name}`, import.meta.url));
/** ktutil: svc@CORP.TEST, kvno 3, aes256-cts-hmac-sha1-96. */
const MIT_SINGLE = fixture('svc-aes256.keytab');
/** ktutil: svc-dirgate@CORP.TEST kvno 2 (aes256, aes128, rc4) and ldap/dc1.corp.test@CORP.TEST kvno 300. */
const MIT_ACCOUNT_AND_SPN = fixture('svc-dirgate-and-spn.keytab');
/** samba-tool domain exportkeytab --principal=svc-dirgate@CORP.TEST. */
const SAMBA_ACCOUNT = fixture('samba-svc-dirgate.keytab');
/** samba-tool domain exportkeytab without --principal: every account, krbtgt@CORP.TEST among them. */
const SAMBA_WHOLE_DOMAIN = fixture('samba-whole-domain.keytab');

function refusal(bytes: Uint8Array): KeytabError {
  try {
    checkKeytab(bytes);
  } catch (err) {
    if (err instanceof KeytabError) return err;
    throw err;
  }
  throw new Error('the keytab was accepted');
}

function expectRefused(bytes: Uint8Array, code: KeytabErrorCode, message: RegExp): KeytabError {
  const err = refusal(bytes);
  expect({ code: err.code, field: err.field }).toEqual({ code, field: 'keytab' });
  expect(err.message).toMatch(message);
  expect(err.message).toMatch(/keytab/);
  return err;
}

describe('keytab parser, against files written by MIT ktutil', () => {
  it('reads a single-key keytab as klist -k -e -t lists it', () => {
    const { version, entries } = parseKeytab(MIT_SINGLE);
    expect(version).toBe(2);
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry!.principal).toEqual({
      realm: 'CORP.TEST',
      components: ['svc'],
      nameType: 1,
      name: 'svc@CORP.TEST',
    });
    expect(entry!.kvno).toBe(3);
    expect(entry!.enctype).toBe(18);
    expect(entry!.key.length).toBe(32);
    // klist -t printed 12/01/26 23:32:27 (UTC) for it.
    expect(entry!.timestamp.toISOString()).toBe('2026-12-01T23:32:27.000Z');
  });

  it('takes the 32-bit kvno over the 8-bit one (300, not 44) and reads service principals', () => {
    const { entries } = parseKeytab(MIT_ACCOUNT_AND_SPN);
    expect(entries.map((e) => [e.principal.name, e.kvno, e.enctype])).toEqual([
      ['svc-dirgate@CORP.TEST', 2, 18],
      ['svc-dirgate@CORP.TEST', 2, 17],
      ['svc-dirgate@CORP.TEST', 2, 23],
      ['ldap/dc1.corp.test@CORP.TEST', 300, 18],
    ]);
    expect(entries[3]!.principal.components).toEqual(['ldap', 'dc1.corp.test']);
  });

  it('the test writer produces the bytes ktutil wrote', () => {
    const [entry] = parseKeytab(MIT_SINGLE).entries;
    const written = writeKeytab([
      {
        principal: 'svc@CORP.TEST',
        kvno: 3,
        enctype: 18,
        key: entry!.key.reveal(),
        timestamp: entry!.timestamp.getTime() / 1000,
      },
    ]);
    expect(written.equals(MIT_SINGLE)).toBe(true);
  });
});

describe('keytabs written by samba-tool domain exportkeytab', () => {
  it("summarizes a service account's keytab as LAB.md lists it", () => {
    expect(checkKeytab(SAMBA_ACCOUNT)).toEqual({
      principal: 'svc-dirgate@CORP.TEST',
      realm: 'CORP.TEST',
      kvno: 2,
      enctypes: ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96', 'arcfour-hmac'],
      warnings: [],
    });
  });

  it('refuses an export of the whole domain for holding krbtgt, as Samba names it', () => {
    expect(parseKeytab(SAMBA_WHOLE_DOMAIN).entries.map((e) => e.principal.name)).toContain(
      'krbtgt@CORP.TEST',
    );
    expectRefused(SAMBA_WHOLE_DOMAIN, 'KEYTAB_HOLDS_KRBTGT', /realm's own key \(krbtgt@CORP\.TEST\)/);
  });
});

describe('keytab parser, format details', () => {
  it('skips holes left by deleted entries', () => {
    const bytes = writeKeytab([{ principal: 'a@R' }, { hole: 37 }, { principal: 'b@R', kvno: 4 }]);
    expect(parseKeytab(bytes).entries.map((e) => `${e.principal.name}#${e.kvno}`)).toEqual([
      'a@R#1',
      'b@R#4',
    ]);
  });

  it('uses the 8-bit kvno when the 32-bit one is absent or zero, and ignores extra bytes inside an entry', () => {
    const bytes = writeKeytab([
      { principal: 'a@R', kvno: 7, trailingKvno: null },
      { principal: 'b@R', kvno: 9, trailingKvno: 0 },
      { principal: 'c@R', kvno: 300, padding: 3 },
      // Fewer than 4 bytes after the 8-bit kvno's keyblock: no trailer, MIT reads the same.
      { principal: 'd@R', kvno: 11, trailingKvno: null, padding: 3 },
    ]);
    expect(parseKeytab(bytes).entries.map((e) => e.kvno)).toEqual([7, 9, 300, 11]);
  });

  it('ends at a zero size or at a remainder too short for a size, as MIT does', () => {
    const one = writeKeytab([{ principal: 'a@R' }]);
    const zeroSize = Buffer.concat([one, Buffer.alloc(4), Buffer.from('anything after')]);
    expect(parseKeytab(zeroSize).entries).toHaveLength(1);
    expect(parseKeytab(Buffer.concat([one, Buffer.from([0, 0, 1])])).entries).toHaveLength(1);
  });

  it('prints principal names as MIT does, escaping separators inside components', () => {
    const bytes = writeKeytab([{ components: ['svc@corp.test', 'a/b'], realm: 'CORP.TEST' }]);
    expect(parseKeytab(bytes).entries[0]!.principal.name).toBe('svc\\@corp.test/a\\/b@CORP.TEST');
  });

  it('reads a keytab passed as a view into a larger buffer', () => {
    const inner = writeKeytab([{ principal: 'a@R', kvno: 5 }]);
    const outer = Buffer.concat([Buffer.from('xxxx'), inner, Buffer.from('yyyy')]);
    const view = new Uint8Array(outer.buffer, outer.byteOffset + 4, inner.length);
    expect(parseKeytab(view).entries[0]!.kvno).toBe(5);
  });
});

describe('keytab parser, refusals', () => {
  it('refuses what is not a keytab', () => {
    expectRefused(Buffer.alloc(0), 'KEYTAB_NOT_A_KEYTAB', /not a keytab file/);
    expectRefused(Buffer.from([0x05]), 'KEYTAB_NOT_A_KEYTAB', /not a keytab file/);
    expectRefused(Buffer.from(MIT_SINGLE.toString('base64')), 'KEYTAB_NOT_A_KEYTAB', /base64/);
    expectRefused(Buffer.from('-----BEGIN CERTIFICATE-----'), 'KEYTAB_NOT_A_KEYTAB', /0x05/);
  });

  it('refuses version 1 with how to convert it, and unknown versions', () => {
    expectRefused(
      writeVersion1Keytab({ principal: 'a@R' }),
      'KEYTAB_UNSUPPORTED_VERSION',
      /version 1.*ktutil/,
    );
    expectRefused(Buffer.from([0x05, 0x03, 0, 0, 0, 0]), 'KEYTAB_UNSUPPORTED_VERSION', /0x0503/);
  });

  it('refuses a file over 1 MiB before reading it', () => {
    const big = Buffer.concat([writeKeytab([{ principal: 'a@R' }]), Buffer.alloc(1024 * 1024)]);
    expectRefused(big, 'KEYTAB_TOO_LARGE', /more than the 1048576/);
  });

  it('refuses an entry or a hole whose size runs past the end', () => {
    const whole = writeKeytab([{ principal: 'a@R' }, { principal: 'b@R' }]);
    expectRefused(whole.subarray(0, whole.length - 1), 'KEYTAB_TRUNCATED', /record 2 .*declares/);
    const hole = Buffer.concat([writeKeytab([{ principal: 'a@R' }]), Buffer.from([0xff, 0xff, 0xff, 0x00])]);
    expectRefused(hole, 'KEYTAB_TRUNCATED', /hole of a deleted entry/);
    expectRefused(
      Buffer.concat([Buffer.from([0x05, 0x02]), Buffer.from([0x80, 0, 0, 0])]),
      'KEYTAB_CORRUPT',
      /impossible size/,
    );
  });

  it('refuses fields that run past their entry, even when the file goes on', () => {
    const body = entryBody({ principal: 'a@R' });
    // The entry declares 10 bytes fewer than its fields take; the next entry's bytes follow.
    const bytes = writeKeytab([{ principal: 'a@R', sizeOverride: body.length - 10 }, { principal: 'b@R' }]);
    expectRefused(bytes, 'KEYTAB_CORRUPT', /entry 1 ends inside its/);
  });

  it('refuses component counts and strings out of bounds', () => {
    const many = Array.from({ length: 17 }, (_, i) => `c${i}`);
    expectRefused(writeKeytab([{ components: many, realm: 'R' }]), 'KEYTAB_CORRUPT', /17 components/);
    expectRefused(writeKeytab([{ components: [], realm: 'R' }]), 'KEYTAB_CORRUPT', /0 components/);
    const long = 'x'.repeat(1025);
    expectRefused(
      writeKeytab([{ components: [long], realm: 'R' }]),
      'KEYTAB_CORRUPT',
      /1025 bytes \(at most 1024\)/,
    );
    expectRefused(writeKeytab([{ components: ['a'], realm: '' }]), 'KEYTAB_CORRUPT', /empty realm/);
    // A name that is not UTF-8.
    const bad = writeKeytab([{ components: ['caf\u00e9'], realm: 'R' }]);
    bad[bad.indexOf(0xc3)] = 0xff;
    expectRefused(bad, 'KEYTAB_CORRUPT', /not UTF-8/);
  });
});

describe('keytab parser, fuzzed', () => {
  const valid = [
    MIT_SINGLE,
    MIT_ACCOUNT_AND_SPN,
    SAMBA_ACCOUNT,
    SAMBA_WHOLE_DOMAIN,
    writeKeytab([{ principal: 'a@R' }, { hole: 12 }, { principal: 'x/y@R', kvno: 900, trailingKvno: null }]),
  ];
  const onlyTyped = (bytes: Uint8Array) => {
    try {
      checkKeytab(bytes);
    } catch (err) {
      if (!(err instanceof KeytabError)) throw err;
    }
  };

  it('random bytes, with or without a keytab header, give a result or a KeytabError', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 300 }), (header, tail) => {
        const bytes = header ? Buffer.concat([Buffer.from([0x05, 0x02]), tail]) : Buffer.from(tail);
        onlyTyped(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('every truncation of a valid keytab gives a result or a KeytabError', () => {
    for (const file of valid) {
      for (let length = 0; length <= file.length; length++) onlyTyped(file.subarray(0, length));
    }
  });

  it('random byte changes of a valid keytab give a result or a KeytabError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (file, changes) => {
          const bytes = Buffer.from(file);
          for (const [at, value] of changes) bytes[at % bytes.length] = value;
          onlyTyped(bytes);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('random well-formed keytabs parse back to what was written', () => {
    const entry = fc.record({
      components: fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }),
      realm: fc.string({ minLength: 1, maxLength: 12 }),
      kvno: fc.integer({ min: 1, max: 0xffffffff }),
      enctype: fc.constantFrom(17, 18, 23, 99),
      timestamp: fc.integer({ min: 0, max: 0xffffffff }),
    });
    const record: fc.Arbitrary<KeytabRecord> = fc.oneof(
      entry,
      fc.record({ hole: fc.integer({ min: 1, max: 40 }) }),
    );
    fc.assert(
      fc.property(fc.array(record, { maxLength: 8 }), (records) => {
        const written = records.filter((r): r is Exclude<KeytabRecord, { hole: number }> => !('hole' in r));
        const { entries } = parseKeytab(writeKeytab(records));
        expect(
          entries.map((e) => ({
            components: e.principal.components,
            realm: e.principal.realm,
            kvno: e.kvno,
            enctype: e.enctype,
            timestamp: e.timestamp.getTime() / 1000,
          })),
        ).toEqual(written);
      }),
      { numRuns: 500 },
    );
  });
});

describe('checkKeytab: what an uploaded keytab holds', () => {
  it("summarizes ktutil's keytab", () => {
    expect(checkKeytab(MIT_SINGLE)).toEqual({
      principal: 'svc@CORP.TEST',
      realm: 'CORP.TEST',
      kvno: 3,
      enctypes: ['aes256-cts-hmac-sha1-96'],
      warnings: [],
    });
  });

  it('chooses the one account among its service principals, and says the others are ignored', () => {
    const summary = checkKeytab(MIT_ACCOUNT_AND_SPN);
    expect(summary).toMatchObject({
      principal: 'svc-dirgate@CORP.TEST',
      realm: 'CORP.TEST',
      kvno: 2,
      enctypes: ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96', 'arcfour-hmac'],
    });
    expect(summary.warnings).toEqual([
      {
        code: 'OTHER_PRINCIPALS_IGNORED',
        message: expect.stringMatching(/ldap\/dc1\.corp\.test@CORP\.TEST/),
      },
    ]);
  });

  it('a msktutil-like keytab (HOST$ beside host/ SPNs) binds as the account', () => {
    const bytes = writeKeytab([
      { principal: 'host/gw.corp.test@CORP.TEST', kvno: 5 },
      { principal: 'GW$@CORP.TEST', kvno: 5 },
      { principal: 'HOST/gw@CORP.TEST', kvno: 5 },
    ]);
    expect(checkKeytab(bytes).principal).toBe('GW$@CORP.TEST');
  });

  it('a single service principal (a ktpass keytab) is the one', () => {
    const bytes = writeKeytab([{ principal: 'HTTP/gw.corp.test@CORP.TEST', kvno: 3 }]);
    expect(checkKeytab(bytes).principal).toBe('HTTP/gw.corp.test@CORP.TEST');
  });

  it('uses the newest kvno and its enctypes, wherever it is in the file; older versions are left aside', () => {
    const bytes = writeKeytab([
      { principal: 'svc@R', kvno: 3, enctype: 17 },
      { principal: 'svc@R', kvno: 2, enctype: 23 },
      { principal: 'svc@R', kvno: 3, enctype: 18 },
      { principal: 'svc@R', kvno: 1, enctype: 18 },
    ]);
    expect(checkKeytab(bytes)).toMatchObject({
      kvno: 3,
      enctypes: ['aes128-cts-hmac-sha1-96', 'aes256-cts-hmac-sha1-96'],
    });
  });

  it('accepts RC4 alone with a warning, and warns of weak keys it will not use', () => {
    const rc4 = checkKeytab(writeKeytab([{ principal: 'svc@R', enctype: 23 }]));
    expect(rc4.enctypes).toEqual(['arcfour-hmac']);
    expect(rc4.warnings.map((w) => w.code)).toEqual(['RC4_ONLY']);
    const mixed = checkKeytab(
      writeKeytab([
        { principal: 'svc@R', enctype: 3 },
        { principal: 'svc@R', enctype: 18 },
      ]),
    );
    expect(mixed.enctypes).toEqual(['aes256-cts-hmac-sha1-96']);
    expect(mixed.warnings).toEqual([
      { code: 'WEAK_KEYS_IGNORED', message: expect.stringMatching(/des-cbc-md5/) },
    ]);
  });
});

describe('checkKeytab: refusals, each saying what to do', () => {
  it('no entries', () => {
    expectRefused(Buffer.from([0x05, 0x02]), 'KEYTAB_EMPTY', /holds no keys: export/);
    expectRefused(writeKeytab([{ hole: 30 }]), 'KEYTAB_EMPTY', /holds no keys/);
  });

  it('only weak enctypes (DES, DES3, RC4-export) or unknown ones', () => {
    for (const enctype of [1, 2, 3, 16, 24, 99]) {
      expectRefused(
        writeKeytab([{ principal: 'svc@R', enctype }]),
        'KEYTAB_WEAK_ENCTYPES_ONLY',
        /only weak or unsupported keys for svc@R .*AES/,
      );
    }
    const err = expectRefused(
      writeKeytab([
        { principal: 'svc@R', enctype: 1 },
        { principal: 'svc@R', enctype: 3 },
      ]),
      'KEYTAB_WEAK_ENCTYPES_ONLY',
      /des-cbc-crc, des-cbc-md5/,
    );
    expect(err.message).toMatch(/export the keytab again/);
  });

  it('no usable key of the newest kvno (the password was changed, or only weak keys were added since)', () => {
    const bytes = writeKeytab([
      { principal: 'svc@R', kvno: 4, enctype: 18 },
      { principal: 'svc@R', kvno: 5, enctype: 3 },
    ]);
    expectRefused(bytes, 'KEYTAB_NO_KEY_FOR_CURRENT_KVNO', /newest key version 5 .*older version 4/);
  });

  it('mixed realms', () => {
    const bytes = writeKeytab([{ principal: 'svc@CORP.TEST' }, { principal: 'svc@OTHER.TEST' }]);
    expectRefused(bytes, 'KEYTAB_MIXED_REALMS', /several realms \(CORP\.TEST, OTHER\.TEST\)/);
  });

  it('several accounts: refused, listing them', () => {
    const bytes = writeKeytab([
      { principal: 'svc-a@CORP.TEST' },
      { principal: 'svc-b@CORP.TEST' },
      { principal: 'host/x@CORP.TEST' },
    ]);
    expectRefused(
      bytes,
      'KEYTAB_SEVERAL_PRINCIPALS',
      /3 principals \(svc-a@CORP\.TEST, svc-b@CORP\.TEST, host\/x@CORP\.TEST\).*--principal=/,
    );
    const dozens = writeKeytab(Array.from({ length: 20 }, (_, i) => ({ principal: `u${i}@R` })));
    expectRefused(dozens, 'KEYTAB_SEVERAL_PRINCIPALS', /u7@R and 12 more/);
  });

  it('a keytab of the whole domain (it holds krbtgt, in any of its names)', () => {
    for (const krbtgt of [
      'krbtgt/CORP.TEST@CORP.TEST',
      'krbtgt@CORP.TEST',
      'KRBTGT@CORP.TEST',
      'krbtgt_12345@CORP.TEST',
    ]) {
      const bytes = writeKeytab([{ principal: krbtgt }, { principal: 'svc@CORP.TEST' }]);
      const err = expectRefused(bytes, 'KEYTAB_HOLDS_KRBTGT', /realm's own key .*--principal=/);
      expect(err.message).toContain(`(${krbtgt})`);
    }
    // Only the krbtgt accounts: a name that merely starts with it is someone else.
    expect(checkKeytab(writeKeytab([{ principal: 'krbtgtadmin@CORP.TEST' }])).principal).toBe(
      'krbtgtadmin@CORP.TEST',
    );
  });

  it('a key of the wrong length for its enctype', () => {
    const bytes = writeKeytab([{ principal: 'svc@R', enctype: 18, key: testKey(16) }]);
    expectRefused(
      bytes,
      'KEYTAB_CORRUPT',
      /aes256-cts-hmac-sha1-96 key of svc@R \(kvno 1\) is 16 bytes, not 32/,
    );
  });
});

describe('key bytes never show', () => {
  const key = testKey(32, 0x41);
  const renderings = [
    key.toString('hex'),
    key.toString('base64'),
    key.toString('latin1'),
    key.subarray(0, 8).toString('hex'),
    [...key.subarray(0, 6)].join(','),
    [...key.subarray(0, 6)].join(', '),
  ];
  const expectNoKey = (text: string) => {
    for (const rendering of renderings) expect(text).not.toContain(rendering);
  };

  it('in parsed entries: JSON, String(), util.inspect; reveal() gives a copy', () => {
    const keytab = parseKeytab(writeKeytab([{ principal: 'svc@R', key }]));
    const [entry] = keytab.entries;
    expect(entry!.key.reveal().equals(key)).toBe(true);
    expect(String(entry!.key)).toBe('[key: 32 bytes]');
    for (const text of [
      JSON.stringify(keytab),
      String(entry!.key),
      inspect(keytab, { depth: 10 }),
      `${entry!.key}`,
    ]) {
      expect(text).toContain('[key: 32 bytes]');
      expectNoKey(text);
    }
    entry!.key.reveal().fill(0);
    expect(entry!.key.reveal().equals(key)).toBe(true);
  });

  it('in summaries and warnings', () => {
    const summary = checkKeytab(
      writeKeytab([
        { principal: 'svc@R', key: key.subarray(0, 16), enctype: 23 },
        { principal: 'a/b@R', key },
      ]),
    );
    expectNoKey(JSON.stringify(summary));
    expectNoKey(inspect(summary, { depth: 10 }));
  });

  it('in errors, their JSON and their inspection', () => {
    const bad = [
      writeKeytab([{ principal: 'svc@R', enctype: 1, key: key.subarray(0, 8) }]),
      writeKeytab([{ principal: 'svc@R', enctype: 17, key }]),
      writeKeytab([
        { principal: 'svc@R', key },
        { principal: 'svc@S', key },
      ]),
      writeKeytab([{ principal: 'svc@R', key }]).subarray(0, 60),
    ];
    for (const bytes of bad) {
      const err = refusal(bytes);
      expectNoKey(err.message);
      expectNoKey(JSON.stringify(err));
      expectNoKey(inspect(err));
      expect(err.cause).toBeUndefined();
    }
  });
});
