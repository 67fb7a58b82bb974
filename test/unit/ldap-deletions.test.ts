/** The pure parts of finding deletions: naming contexts as DNs, and when a watermark outlives AD's tombstones. */
import { describe, expect, it } from 'vitest';
import { isUnder, namingContextOf } from '../../src/ldap/changes/naming-context.js';
import { tombstoneLifetimeProblem } from '../../src/ldap/changes/tombstone-lifetime.js';
import type { Watermark } from '../../src/ldap/changes/types.js';
import type { RootDse } from '../../src/ldap/root-dse.js';

const rootDse = (over: Partial<RootDse> = {}): RootDse => ({
  flavour: 'LDAP',
  defaultNamingContext: null,
  configurationNamingContext: null,
  namingContexts: ['cn=accesslog', 'dc=corp,dc=test'],
  dnsHostName: null,
  supportedCapabilities: [],
  supportedControls: [],
  highestCommittedUsn: null,
  dsServiceName: null,
  ...over,
});

describe('naming contexts', () => {
  it('tells a DN under another as DNs: case, blanks after commas, escaped commas', () => {
    expect(isUnder('OU=Staff, DC=corp,DC=test', 'dc=corp,dc=test')).toBe(true);
    expect(isUnder('dc=corp,dc=test', 'DC=Corp,DC=Test')).toBe(true);
    expect(isUnder('cn=a,dc=othercorp,dc=test', 'dc=corp,dc=test')).toBe(false);
    // Text ending in ",dc=corp,dc=test" is not enough: the comma is part of a value here.
    expect(isUnder('cn=foo\\,dc=test', 'dc=test')).toBe(false);
    expect(isUnder('cn=foo\\,dc=test,dc=test', 'dc=test')).toBe(true);
    expect(isUnder('dc=test', 'dc=corp,dc=test')).toBe(false);
  });

  it('picks the longest naming context that holds the base, not the log beside it', () => {
    expect(namingContextOf(rootDse(), 'ou=Users,dc=corp,dc=test')).toBe('dc=corp,dc=test');
    expect(
      namingContextOf(
        rootDse({ namingContexts: ['dc=test', 'dc=corp,dc=test'] }),
        'OU=Users, DC=corp,DC=test',
      ),
    ).toBe('dc=corp,dc=test');
    expect(
      namingContextOf(
        rootDse({
          namingContexts: [],
          defaultNamingContext: 'DC=corp,DC=test',
        }),
        'OU=Staff,DC=corp,DC=test',
      ),
    ).toBe('DC=corp,DC=test');
    expect(namingContextOf(rootDse(), 'ou=Users,dc=elsewhere')).toBeNull();
  });
});

describe('the tombstone lifetime', () => {
  const usn = (readAt?: string): Watermark => ({
    kind: 'USN',
    server: 'dc1.corp.test',
    invocationId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
    usn: '4100',
    ...(readAt === undefined ? {} : { readAt }),
  });
  const now = new Date('2026-12-02T00:00:00Z');
  const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();

  it('lets a watermark younger than the lifetime through, and refuses one as old or older', () => {
    expect(tombstoneLifetimeProblem(usn(daysAgo(179.9)), 180, now)).toBeNull();
    expect(tombstoneLifetimeProblem(usn(daysAgo(180)), 180, now)).toMatch(
      /180 days ago.*lifetime of 180 days/,
    );
    expect(tombstoneLifetimeProblem(usn(daysAgo(61)), 60, now)).toMatch(/lifetime of 60 days/);
  });

  it('counts a watermark that does not say when it was read, or says nonsense, as too old', () => {
    expect(tombstoneLifetimeProblem(usn(), 180, now)).toMatch(/does not say when/);
    expect(tombstoneLifetimeProblem(usn('yesterday'), 180, now)).toMatch(/not a time/);
  });
});
