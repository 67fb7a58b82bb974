import type { Entry } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { decodeEntry, firstRdnValue } from '../../src/ldap/entry-decoder.js';
import { requestedAttributes } from '../../src/ldap/reader.js';
import { flavourOf } from '../../src/ldap/root-dse.js';
import { schemaFor } from '../../src/ldap/schema-map.js';

const GUID_BYTES = Buffer.from('1032547698badcfe0123456789abcdef', 'hex');
const GUID_TEXT = '76543210-ba98-fedc-0123-456789abcdef';

describe('flavour', () => {
  it('is AD when the RootDSE has the AD capability', () => {
    expect(flavourOf(['1.2.840.113556.1.4.800', '1.2.840.113556.1.4.1670'])).toBe('ACTIVE_DIRECTORY');
    expect(flavourOf([])).toBe('LDAP');
  });
});

describe('schemaFor', () => {
  it('uses AD defaults', () => {
    const ad = schemaFor('ACTIVE_DIRECTORY', {});
    expect(ad.filters.USER).toBe('(&(objectCategory=person)(objectClass=user))');
    expect(ad.filters.GROUP).toBe('(objectClass=group)');
    expect(ad.idAttributes).toEqual(['objectGUID']);
    expect(ad.rangedMembers).toBe(true);
    expect(requestedAttributes(ad, 'GROUP', 500)).toContain('member;range=0-499');
    // AD's name is the RDN value: the last fallback for a display name.
    expect(requestedAttributes(ad, 'USER', 500)).toContain('name');
  });

  it('uses inetOrgPerson/groupOfNames defaults elsewhere, asking objectGUID and entryUUID', () => {
    const ldap = schemaFor('LDAP', {});
    expect(ldap.filters.USER).toContain('(objectClass=inetOrgPerson)');
    expect(ldap.filters.GROUP).toContain('(objectClass=groupOfNames)');
    expect(ldap.idAttributes).toEqual(['objectGUID', 'entryUUID']);
    expect(ldap.rangedMembers).toBe(false);
    const attributes = requestedAttributes(ldap, 'GROUP', 500);
    expect(attributes).toEqual(expect.arrayContaining(['member', 'uniqueMember', 'entryUUID']));
    expect(attributes.some((a) => a.includes(';range='))).toBe(false);
    // Elsewhere name is the supertype of sn, givenName, ou…: asking it only brings those along.
    expect(requestedAttributes(ldap, 'USER', 500)).not.toContain('name');
    expect(requestedAttributes(ldap, 'USER', 500)).toEqual(expect.arrayContaining(['displayName', 'cn']));
  });

  it('applies overrides', () => {
    const s = schemaFor('LDAP', {
      userFilter: '(objectClass=person)',
      attributes: { guid: 'nsUniqueId', member: 'uniqueMember', mail: 'email' },
    });
    expect(s.filters.USER).toBe('(objectClass=person)');
    expect(s.filters.GROUP).toContain('groupOfNames');
    expect(s.idAttributes).toEqual(['nsUniqueId']);
    expect(s.member).toEqual(['uniqueMember']);
    expect(s.mail).toBe('email');
  });
});

describe('decodeEntry', () => {
  const ad = schemaFor('ACTIVE_DIRECTORY', {});

  it('decodes an AD user', () => {
    const entry: Entry = {
      dn: 'CN=Doe\\, Jane,OU=Staff,DC=corp,DC=test',
      objectGUID: GUID_BYTES,
      displayName: 'Jane Doe',
      mail: 'jane.doe@corp.test',
      proxyAddresses: ['SMTP:jane.doe@corp.test', 'X500:/o=x'],
      sAMAccountName: 'jdoe',
      userPrincipalName: 'jdoe@corp.test',
      userAccountControl: '514',
      cn: [],
    };
    expect(decodeEntry(entry, 'USER', ad, [])).toEqual({
      kind: 'USER',
      guid: GUID_TEXT,
      dn: 'CN=Doe\\, Jane,OU=Staff,DC=corp,DC=test',
      displayName: 'Jane Doe',
      mail: 'jane.doe@corp.test',
      proxyAddresses: ['SMTP:jane.doe@corp.test', 'X500:/o=x'],
      samAccountName: 'jdoe',
      userPrincipalName: 'jdoe@corp.test',
      userAccountControl: 514,
      memberDns: [],
    });
  });

  it('matches attribute names case-insensitively and handles single proxy strings', () => {
    const entry: Entry = {
      dn: 'cn=x,dc=t',
      objectguid: GUID_BYTES,
      PROXYADDRESSES: 'smtp:x@t.test',
      cn: 'X',
    };
    const decoded = decodeEntry(entry, 'CONTACT', ad, []);
    expect(decoded?.proxyAddresses).toEqual(['smtp:x@t.test']);
    expect(decoded?.displayName).toBe('X');
    expect(decoded?.samAccountName).toBeNull();
    expect(decoded?.userAccountControl).toBeNull();
  });

  it('merges one attribute given under two spellings, in the order given', () => {
    const entry: Entry = {
      dn: 'cn=x,dc=t',
      objectGUID: GUID_BYTES,
      proxyAddresses: ['SMTP:a@t.test', 'smtp:b@t.test'],
      displayName: '',
      ProxyAddresses: 'smtp:c@t.test',
      DISPLAYNAME: 'Second Spelling',
    };
    const decoded = decodeEntry(entry, 'CONTACT', ad, []);
    expect(decoded?.proxyAddresses).toEqual(['SMTP:a@t.test', 'smtp:b@t.test', 'smtp:c@t.test']);
    // The first non-empty value across both spellings.
    expect(decoded?.displayName).toBe('Second Spelling');
  });

  it('falls back to entryUUID on LDAP servers and to the RDN for the name', () => {
    const entry: Entry = {
      dn: 'cn=Zo\\c3\\ab,ou=g,dc=t',
      objectGUID: [],
      entryUUID: 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE',
    };
    const decoded = decodeEntry(entry, 'GROUP', schemaFor('LDAP', {}), ['cn=a,dc=t']);
    expect(decoded?.guid).toBe('aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee');
    expect(decoded?.displayName).toBe('Zoë');
    expect(decoded?.memberDns).toEqual(['cn=a,dc=t']);
  });

  it('skips entries without an id', () => {
    expect(decodeEntry({ dn: 'cn=x', objectGUID: [] }, 'USER', ad, [])).toBeNull();
  });

  it('reads a non-numeric userAccountControl as null', () => {
    const entry: Entry = { dn: 'cn=x', objectGUID: GUID_BYTES, userAccountControl: 'abc' };
    expect(decodeEntry(entry, 'USER', ad, [])?.userAccountControl).toBeNull();
  });
});

describe('firstRdnValue', () => {
  it('unescapes', () => {
    expect(firstRdnValue('CN=Doe\\, Jane,OU=x')).toBe('Doe, Jane');
    expect(firstRdnValue('cn=M\\C3\\BCller+uid=1,dc=t')).toBe('Müller');
    expect(firstRdnValue('cn=😀 smile,dc=t')).toBe('😀 smile');
  });
});
