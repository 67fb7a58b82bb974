import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeEmails, parseProxyAddresses } from '../../src/ldap/addresses.js';
import { foldKey } from '../../src/model/text.js';

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

  it('is mail, then the SMTP addresses parseProxyAddresses finds, without fold-equal repeats', () => {
    // The definition, written plainly; computeEmails does the same in one pass.
    const reference = (mail: string | null, proxies: string[]) => {
      const parsed = parseProxyAddresses(proxies);
      const trimmed = mail?.trim() ?? '';
      const at = trimmed.lastIndexOf('@');
      const plausible = at > 0 && at < trimmed.length - 1 && !/\s/.test(trimmed);
      const mailAddress = mail !== null && plausible ? trimmed : null;
      const emails: string[] = mailAddress === null ? [] : [mailAddress];
      for (const p of parsed)
        if (!emails.some((e) => foldKey(e) === foldKey(p.address))) emails.push(p.address);
      return { primaryEmail: mailAddress ?? parsed.find((p) => p.primary)?.address ?? null, emails };
    };
    const part = fc.constantFrom('a', 'A', 'ü', 'u\u0308', 'Ü', 'b', '@', ' ', '.', 'ß', 'ss');
    const text = fc.array(part, { maxLength: 6 }).map((p) => p.join(''));
    const proxy = fc
      .tuple(fc.constantFrom('SMTP:', 'smtp:', 'Smtp:', 'X500:', '', ' smtp:'), text)
      .map(([prefix, rest]) => prefix + rest);
    fc.assert(
      fc.property(fc.option(text), fc.array(proxy, { maxLength: 5 }), (mail, proxies) => {
        expect(computeEmails(mail, proxies)).toEqual(reference(mail, proxies));
      }),
      { numRuns: 2000 },
    );
  });
});
