import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DnSyntaxError, dnKey, normalizeDn, parseDn } from '../../src/model/dn.js';

describe('normalizeDn', () => {
  it('makes DNs that differ in case and spacing compare equal', () => {
    expect(normalizeDn('OU=Staff, DC=corp,DC=test')).toBe('ou=staff,dc=corp,dc=test');
    expect(normalizeDn(' ou = staff ,dc=corp , dc=test ')).toBe(normalizeDn('OU=Staff,DC=Corp,DC=Test'));
  });

  it('keeps DNs that differ in a value apart', () => {
    expect(normalizeDn('OU=Staff,DC=corp,DC=test')).not.toBe(normalizeDn('OU=Stuff,DC=corp,DC=test'));
    expect(normalizeDn('CN=John Smith,DC=corp')).not.toBe(normalizeDn('CN=JohnSmith,DC=corp'));
  });

  it('treats an escaped comma and its hex form as the same character inside a value', () => {
    const plain = normalizeDn('CN=Smith\\, John,OU=Staff,DC=corp,DC=test');
    expect(plain).toBe('cn=smith\\, john,ou=staff,dc=corp,dc=test');
    expect(normalizeDn('CN=Smith\\2C John,OU=Staff,DC=corp,DC=test')).toBe(plain);
    expect(normalizeDn('cn=smith\\2c john,ou=staff,dc=corp,dc=test')).toBe(plain);
  });

  it('decodes UTF-8 hex pairs into the character they encode', () => {
    expect(normalizeDn('CN=M\\C3\\BCller,DC=corp')).toBe('cn=müller,dc=corp');
    expect(normalizeDn('CN=M\\C3\\BCller,DC=corp')).toBe(normalizeDn('CN=Müller,DC=corp'));
  });

  it('compares composed and decomposed accents as equal', () => {
    expect(normalizeDn('CN=Mu\u0308ller,DC=corp')).toBe(normalizeDn('CN=M\u00fcller,DC=corp'));
  });

  it('orders the parts of a multi-valued RDN canonically', () => {
    expect(normalizeDn('CN=a+SN=b,DC=corp')).toBe(normalizeDn('sn=B+cn=A,dc=corp'));
  });

  it('accepts ; as an RDN separator', () => {
    expect(normalizeDn('CN=a;DC=corp')).toBe('cn=a,dc=corp');
  });

  it('escapes special characters again so the result parses back to the same DN', () => {
    const dn = 'CN=a\\+b\\=c\\"d\\<e\\>f\\;g\\\\h,DC=corp';
    const once = normalizeDn(dn);
    expect(normalizeDn(once)).toBe(once);
    expect(parseDn(once)[0]?.[0]?.value).toBe('a+b=c"d<e>f;g\\h');
  });
});

describe('parseDn', () => {
  it('splits a DN into its attribute-value pairs, values unescaped', () => {
    expect(parseDn('CN=Smith\\, John+UID=jsmith,OU=Staff')).toEqual([
      [
        { type: 'CN', value: 'Smith, John' },
        { type: 'UID', value: 'jsmith' },
      ],
      [{ type: 'OU', value: 'Staff' }],
    ]);
  });

  it('accepts numeric OIDs as attribute types', () => {
    expect(parseDn('2.5.4.3=Jane')).toEqual([[{ type: '2.5.4.3', value: 'Jane' }]]);
  });

  it.each([
    ['', 'is empty'],
    ['   ', 'is empty'],
    ['not a dn', '"="'],
    ['=x', 'attribute type'],
    ['cn=', 'empty value'],
    ['cn=a,', 'separator'],
    ['cn=a,,dc=b', 'attribute type'],
    ['cn=a=b', 'unescaped "="'],
    ['cn=a\u0000b', 'NUL'],
    ['cn=a<b', 'unescaped "<"'],
    ['cn=a\\', 'backslash'],
    ['cn=\\FF', 'UTF-8'],
    ['1cn=a', 'attribute type'],
    ['cn="quoted"', 'quoted'],
  ])('refuses %j (%s)', (dn, why) => {
    let caught: unknown;
    try {
      parseDn(dn);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DnSyntaxError);
    expect((caught as DnSyntaxError).dn).toBe(dn);
    expect((caught as DnSyntaxError).message).toContain(why);
  });

  it('makes normalizeDn throw the same errors', () => {
    expect(() => normalizeDn('cn=a,')).toThrow(DnSyntaxError);
  });
});

describe('dnKey', () => {
  it.each([
    'OU=Staff, DC=corp,DC=test',
    'CN=John Smith,OU=Staff,DC=corp,DC=test',
    'cn=Müller,dc=corp',
    'CN=Mu\u0308ller,DC=corp',
    ' cn = a , dc = b ',
  ])('equals normalizeDn for the simple DN %j', (dn) => {
    expect(dnKey(dn)).toBe(normalizeDn(dn));
  });

  it('equals normalizeDn for DNs with escapes and multi-valued RDNs', () => {
    for (const dn of ['CN=Smith\\, John,DC=corp', 'CN=M\\C3\\BCller,DC=corp', 'sn=B+cn=A,dc=corp']) {
      expect(dnKey(dn)).toBe(normalizeDn(dn));
    }
  });

  it('matches a member DN the server sent in another case and spacing', () => {
    expect(dnKey('CN=Jane Doe,OU=Staff,DC=corp,DC=test')).toBe(
      dnKey('cn=jane doe, ou=staff, dc=corp, dc=test'),
    );
  });

  it('is the part-by-part key (type lower-cased, value NFC and lower-cased) for DNs without escapes', () => {
    // The definition, written plainly; dnKey takes shortcuts for ASCII and for text already in NFC.
    const reference = (dn: string): string => {
      let out = '';
      for (const part of dn.split(',')) {
        const eq = part.indexOf('=');
        if (eq <= 0) return dn.toLowerCase();
        const type = part.slice(0, eq).trim().toLowerCase();
        out += `${out ? ',' : ''}${type}=${part
          .slice(eq + 1)
          .trim()
          .normalize('NFC')
          .toLowerCase()}`;
      }
      return out;
    };
    // Final sigma, combining marks (U+0338 composes with "="), dotted İ, blanks of several kinds.
    const ch = fc.constantFrom(...'aAzZ ,==ΣΑσςİıßÅé\u0301\u0338\u00a0\u3000.-_ü'.split(''));
    const dn = fc.array(ch, { maxLength: 14 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(dn, (d) => {
        expect(dnKey(d)).toBe(reference(d));
      }),
      { numRuns: 20000 },
    );
  });

  it('falls back to lower case for what does not parse instead of throwing', () => {
    expect(dnKey('Not A DN')).toBe('not a dn');
    expect(dnKey('CN=a\\')).toBe('cn=a\\');
  });
});
