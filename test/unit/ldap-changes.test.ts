/** The pure parts of change reading: generalized time, change filters, whether a watermark may be used. */
import { describe, expect, it } from 'vitest';
import { tombstonesSuffice } from '../../src/ldap/changes/deletions.js';
import { changeFilter } from '../../src/ldap/changes/read-changes.js';
import type { Watermark } from '../../src/ldap/changes/types.js';
import {
  csnTime,
  formatGeneralizedTime,
  laterTime,
  parseGeneralizedTime,
  timestampFilter,
  usnFilter,
  watermarkProblem,
} from '../../src/ldap/changes/watermark.js';
import { kindFilter } from '../../src/ldap/reader.js';
import type { RootDse } from '../../src/ldap/root-dse.js';
import { schemaFor } from '../../src/ldap/schema-map.js';

const usn = (over: Partial<Extract<Watermark, { kind: 'USN' }>> = {}): Watermark => ({
  kind: 'USN',
  server: 'dc1.corp.test',
  invocationId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
  usn: '4100',
  ...over,
});

describe('generalized time', () => {
  it('formats UTC whole seconds and parses back, fractions dropped', () => {
    const date = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    expect(formatGeneralizedTime(date)).toBe('20260102030405Z');
    expect(parseGeneralizedTime('20260102030405Z')?.getTime()).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(parseGeneralizedTime('20260102030405.123Z')?.getTime()).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
  });

  it('refuses local times, offsets and impossible dates', () => {
    for (const text of ['20260102030405', '20260102030405+0100', '20261302030405Z', '20260230000000Z', 'x']) {
      expect(parseGeneralizedTime(text), text).toBeNull();
    }
  });

  it("takes a CSN's time in whole seconds", () => {
    expect(csnTime('20261201235349.235429Z#000000#000#000000')).toBe('20261201235349Z');
    expect(csnTime('not a csn')).toBeNull();
    expect(laterTime('20261201235349Z', '20261201235350Z')).toBe('20261201235350Z');
  });
});

describe('change filters', () => {
  it('asks USNs after the watermark, 64-bit safe', () => {
    expect(usnFilter('4100')).toBe('(uSNChanged>=4101)');
    expect(usnFilter('9007199254740993')).toBe('(uSNChanged>=9007199254740994)');
    expect(() => usnFilter('-1')).toThrow(RangeError);
    expect(changeFilter(usn())).toBe('(uSNChanged>=4101)');
  });

  it('asks timestamps from the watermark less the overlap, across a midnight', () => {
    expect(timestampFilter('20270101000001Z')).toBe('(modifyTimestamp>=20261231235959Z)');
    expect(timestampFilter('20270101000001Z', 0)).toBe('(modifyTimestamp>=20270101000001Z)');
    expect(
      changeFilter({ kind: 'TIMESTAMP', server: 'ldap://x:389', time: '20270101000001Z', contextCsn: null }),
    ).toBe('(modifyTimestamp>=20261231235959Z)');
  });

  it("ANDs the extra filter with the kind's, adding parentheses a configured filter lacks", () => {
    const schema = schemaFor('ACTIVE_DIRECTORY', { userFilter: 'objectClass=user' });
    expect(kindFilter(schema, 'USER')).toBe('objectClass=user');
    expect(kindFilter(schema, 'USER', '(uSNChanged>=5)')).toBe('(&(objectClass=user)(uSNChanged>=5))');
    expect(kindFilter(schema, 'GROUP', '(uSNChanged>=5)')).toBe('(&(objectClass=group)(uSNChanged>=5))');
  });
});

describe('whether a watermark may be used', () => {
  it('accepts the same DC and invocationId with the USN at or past it', () => {
    expect(watermarkProblem(usn(), usn())).toBeNull();
    expect(watermarkProblem(usn(), usn({ usn: '5000', server: 'DC1.corp.test' }))).toBeNull();
  });

  it('refuses another DC, a reset invocationId and a USN gone backwards', () => {
    expect(watermarkProblem(usn(), usn({ server: 'dc2.corp.test' }))?.reason).toBe('OTHER_SERVER');
    expect(
      watermarkProblem(usn(), usn({ invocationId: 'aaaaaaaa-4b5a-6978-8796-a5b4c3d2e1f0' }))?.reason,
    ).toBe('INVOCATION_ID_CHANGED');
    expect(watermarkProblem(usn({ usn: '10000' }), usn({ usn: '9999' }))?.reason).toBe('USN_WENT_BACKWARDS');
    const stamp: Watermark = {
      kind: 'TIMESTAMP',
      server: 'dc1.corp.test',
      time: '20260101000000Z',
      contextCsn: null,
    };
    expect(watermarkProblem(usn(), stamp)?.reason).toBe('KIND_CHANGED');
  });

  it('accepts a TIMESTAMP watermark whose newest change is older now (the newest entry deleted)', () => {
    const stored: Watermark = {
      kind: 'TIMESTAMP',
      server: 'ldap://x:389',
      time: '20260101000010Z',
      contextCsn: null,
    };
    expect(watermarkProblem(stored, { ...stored, time: '20260101000000Z' })).toBeNull();
    expect(watermarkProblem(stored, { ...stored, server: 'ldap://y:389' })?.reason).toBe('OTHER_SERVER');
  });
});

describe('whether tombstones say every removal', () => {
  const rootDse = (over: Partial<RootDse> = {}): RootDse => ({
    flavour: 'ACTIVE_DIRECTORY',
    defaultNamingContext: 'DC=corp,DC=test',
    configurationNamingContext: 'CN=Configuration,DC=corp,DC=test',
    namingContexts: ['DC=corp,DC=test'],
    dnsHostName: 'dc1.corp.test',
    supportedCapabilities: [],
    supportedControls: [],
    highestCommittedUsn: '4100',
    dsServiceName:
      'CN=NTDS Settings,CN=DC1,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=corp,DC=test',
    ...over,
  });
  const ad = schemaFor('ACTIVE_DIRECTORY', {});

  it('only for the whole domain, compared as a DN (case and blanks after commas do not matter)', () => {
    expect(tombstonesSuffice(rootDse(), ad, 'DC=corp,DC=test')).toBe(true);
    expect(tombstonesSuffice(rootDse(), ad, 'dc=Corp, dc=Test ')).toBe(true);
    // An OU: an object moved out of it leaves no tombstone.
    expect(tombstonesSuffice(rootDse(), ad, 'OU=Staff,DC=corp,DC=test')).toBe(false);
  });

  it('not with a configured filter (an object may stop matching and stay), nor off AD', () => {
    const filtered = schemaFor('ACTIVE_DIRECTORY', { userFilter: '(&(objectClass=user)(mail=*))' });
    expect(tombstonesSuffice(rootDse(), filtered, 'DC=corp,DC=test')).toBe(false);
    expect(tombstonesSuffice(rootDse({ flavour: 'LDAP' }), schemaFor('LDAP', {}), 'DC=corp,DC=test')).toBe(
      false,
    );
    expect(tombstonesSuffice(rootDse({ defaultNamingContext: null }), ad, 'DC=corp,DC=test')).toBe(false);
  });
});
