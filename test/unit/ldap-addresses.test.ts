import { describe, expect, it } from 'vitest';
import { computeEmails, parseProxyAddresses } from '../../src/ldap/addresses.js';

describe('parseProxyAddresses', () => {
  it('keeps smtp: and SMTP: addresses only; SMTP: marks the primary', () => {
    expect(
      parseProxyAddresses([
        'SMTP:Jane.Doe@corp.test',
        'smtp:jdoe@corp.test',
        'X500:/o=Corp/ou=Exchange/cn=Recipients/cn=jdoe',
        'sip:jane.doe@corp.test',
        'x400:c=US;a= ;p=Corp;o=Exchange;s=Doe;g=Jane;',
        'EUM:1234;phone-context=corp.test',
      ]),
    ).toEqual([
      { address: 'Jane.Doe@corp.test', primary: true },
      { address: 'jdoe@corp.test', primary: false },
    ]);
  });

  it('matches the prefix case-insensitively but only the exact SMTP: is primary', () => {
    expect(parseProxyAddresses(['Smtp:a@corp.test', 'sMTP:b@corp.test'])).toEqual([
      { address: 'a@corp.test', primary: false },
      { address: 'b@corp.test', primary: false },
    ]);
  });

  it('drops malformed values', () => {
    expect(
      parseProxyAddresses([
        'smtp:',
        'SMTP:no-at-sign',
        'smtp:@corp.test',
        'smtp:a b@corp.test',
        'mail@corp.test',
      ]),
    ).toEqual([]);
  });
});

describe('computeEmails', () => {
  it('puts mail first and uses it as primary', () => {
    expect(computeEmails('jane@corp.test', ['smtp:j@corp.test', 'SMTP:Jane.Doe@corp.test'])).toEqual({
      primaryEmail: 'jane@corp.test',
      emails: ['jane@corp.test', 'j@corp.test', 'Jane.Doe@corp.test'],
    });
  });

  it('falls back to the primary SMTP: address without mail', () => {
    expect(computeEmails(null, ['smtp:j@corp.test', 'SMTP:Jane.Doe@corp.test', 'X500:/o=x'])).toEqual({
      primaryEmail: 'Jane.Doe@corp.test',
      emails: ['j@corp.test', 'Jane.Doe@corp.test'],
    });
  });

  it('has no primary with neither mail nor SMTP:', () => {
    expect(computeEmails(null, ['smtp:j@corp.test'])).toEqual({
      primaryEmail: null,
      emails: ['j@corp.test'],
    });
    expect(computeEmails('', [])).toEqual({ primaryEmail: null, emails: [] });
  });

  it('removes case-insensitive (and Unicode-normalized) duplicates, first spelling kept', () => {
    expect(
      computeEmails('Jane.Doe@Corp.Test', [
        'SMTP:jane.doe@corp.test',
        'smtp:JANE.DOE@CORP.TEST',
        'smtp:other@corp.test',
      ]),
    ).toEqual({ primaryEmail: 'Jane.Doe@Corp.Test', emails: ['Jane.Doe@Corp.Test', 'other@corp.test'] });
    expect(computeEmails('mu\u0308ller@corp.test', ['smtp:MÜLLER@corp.test']).emails).toEqual([
      'mu\u0308ller@corp.test',
    ]);
  });
});
