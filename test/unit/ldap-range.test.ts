import type { Entry } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { collectValues, parseRangeKey, rangedAttribute } from '../../src/ldap/range-retrieval.js';

describe('parseRangeKey', () => {
  it('parses bounded and final chunks', () => {
    expect(parseRangeKey('member;range=0-1499')).toEqual({ attribute: 'member', start: 0, end: 1499 });
    expect(parseRangeKey('member;range=1500-*')).toEqual({ attribute: 'member', start: 1500, end: null });
    expect(parseRangeKey('Member;Range=10-*')).toEqual({ attribute: 'Member', start: 10, end: null });
  });

  it('returns null for keys without a range option', () => {
    expect(parseRangeKey('member')).toBeNull();
    expect(parseRangeKey('member;binary')).toBeNull();
    expect(parseRangeKey('member;range=a-b')).toBeNull();
  });

  it('builds range options', () => {
    expect(rangedAttribute('member', 0, 500)).toBe('member;range=0-499');
    expect(rangedAttribute('member', 1500, 1500)).toBe('member;range=1500-2999');
  });
});

describe('collectValues', () => {
  it('reads plain values as complete', () => {
    const entry: Entry = { dn: 'cn=g', member: ['cn=a', 'cn=b'] };
    expect(collectValues(entry, 'member')).toEqual({ values: ['cn=a', 'cn=b'], nextStart: null });
  });

  it('reads a single string value', () => {
    expect(collectValues({ dn: 'cn=g', member: 'cn=a' }, 'member')).toEqual({
      values: ['cn=a'],
      nextStart: null,
    });
  });

  it('reports where to continue after a bounded chunk (AD past MaxValRange)', () => {
    const entry: Entry = { dn: 'cn=g', member: [], 'member;range=0-1499': ['cn=a', 'cn=b'] };
    expect(collectValues(entry, 'member')).toEqual({ values: ['cn=a', 'cn=b'], nextStart: 1500 });
  });

  it('ignores the empty key ldapts adds for the name that was asked', () => {
    const entry: Entry = { dn: 'cn=g', 'member;range=0-499': [], 'member;range=0-*': ['cn=a'] };
    expect(collectValues(entry, 'member')).toEqual({ values: ['cn=a'], nextStart: null });
  });

  it('matches the attribute name case-insensitively and leaves others alone', () => {
    const entry: Entry = {
      dn: 'cn=g',
      'Member;range=0-*': ['cn=a'],
      'uniqueMember;range=0-1': ['cn=x', 'cn=y'],
    };
    expect(collectValues(entry, 'member')).toEqual({ values: ['cn=a'], nextStart: null });
  });

  it('is empty for a group without members', () => {
    expect(collectValues({ dn: 'cn=g', 'member;range=0-499': [] }, 'member')).toEqual({
      values: [],
      nextStart: null,
    });
  });

  it('reads a group of 300,000 members sent in one attribute (OpenLDAP, Samba) in full', () => {
    const members = Array.from({ length: 300_000 }, (_, i) => `cn=u${i},dc=t`);
    const collected = collectValues({ dn: 'cn=g', member: members }, 'member');
    expect(collected.nextStart).toBeNull();
    expect(collected.values.length).toBe(300_000);
    expect(collected.values[299_999]).toBe('cn=u299999,dc=t');
  });
});
