import type { SrvRecord } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { orderSrvRecords, serverUrl, srvRecordsToUrls } from '../../src/ldap/srv-discovery.js';

const rec = (name: string, priority: number, weight: number, port = 389): SrvRecord => ({
  name,
  priority,
  weight,
  port,
});

/** A random source returning the given values in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i % values.length] ?? 0;
    i++;
    return v;
  };
}

describe('orderSrvRecords (RFC 2782)', () => {
  it('orders by ascending priority first', () => {
    const ordered = orderSrvRecords([rec('c', 30, 0), rec('a', 10, 0), rec('b', 20, 0)], () => 0);
    expect(ordered.map((r) => r.name)).toEqual(['a', 'b', 'c']);
  });

  it('selects by weight within a priority with the injected random number', () => {
    const records = [rec('light', 0, 10), rec('heavy', 0, 90)];
    // total 100: pick = floor(r * 101); running sums light=10, heavy=100.
    expect(orderSrvRecords(records, sequence(0.05, 0)).map((r) => r.name)).toEqual(['light', 'heavy']);
    expect(orderSrvRecords(records, sequence(0.5, 0)).map((r) => r.name)).toEqual(['heavy', 'light']);
    // pick exactly 10 still selects the first record whose running sum reaches it.
    expect(orderSrvRecords(records, sequence(10 / 101, 0)).map((r) => r.name)).toEqual(['light', 'heavy']);
  });

  it('chooses in proportion to weight', () => {
    const records = [rec('a', 0, 1), rec('b', 0, 3)];
    let firstB = 0;
    const runs = 4000;
    for (let i = 0; i < runs; i++) {
      if (orderSrvRecords(records)[0]?.name === 'b') firstB++;
    }
    // RFC 2782 draws an integer in [0, 4]: 0 and 1 select a, 2–4 select b, so b leads 3 times in 5.
    expect(firstB / runs).toBeGreaterThan(0.5);
    expect(firstB / runs).toBeLessThan(0.7);
  });

  it('puts zero-weight records first in their group, chosen only when the number drawn is 0', () => {
    const records = [rec('w', 0, 50), rec('z', 0, 0)];
    expect(orderSrvRecords(records, sequence(0, 0)).map((r) => r.name)).toEqual(['z', 'w']);
    expect(orderSrvRecords(records, sequence(0.5, 0)).map((r) => r.name)).toEqual(['w', 'z']);
  });

  it('keeps the given order when all weights are zero', () => {
    const records = [rec('x', 5, 0), rec('y', 5, 0), rec('z', 5, 0)];
    expect(orderSrvRecords(records, Math.random).map((r) => r.name)).toEqual(['x', 'y', 'z']);
  });

  it('never drops or duplicates a record', () => {
    const records = [rec('a', 1, 5), rec('b', 1, 0), rec('c', 0, 7), rec('d', 1, 9), rec('e', 2, 1)];
    for (let i = 0; i < 200; i++) {
      const ordered = orderSrvRecords(records);
      expect(ordered.map((r) => r.name).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(ordered[0]?.name).toBe('c');
      expect(ordered[4]?.name).toBe('e');
    }
  });

  it('survives a random source returning values at the edge of [0, 1)', () => {
    const records = [rec('a', 0, 1), rec('b', 0, 1)];
    expect(orderSrvRecords(records, () => 0.9999999999).map((r) => r.name)).toEqual(['b', 'a']);
  });
});

describe('srvRecordsToUrls', () => {
  it('uses the record port for ldap and 636 for LDAPS from _ldap._tcp records', () => {
    const records = [rec('dc1.corp.test.', 0, 100, 389), rec('dc2.corp.test', 10, 100, 389)];
    expect(srvRecordsToUrls(records, 'NONE', false)).toEqual([
      'ldap://dc1.corp.test:389',
      'ldap://dc2.corp.test:389',
    ]);
    expect(srvRecordsToUrls(records, 'STARTTLS', false)).toEqual([
      'ldap://dc1.corp.test:389',
      'ldap://dc2.corp.test:389',
    ]);
    expect(srvRecordsToUrls(records, 'LDAPS', false)).toEqual([
      'ldaps://dc1.corp.test:636',
      'ldaps://dc2.corp.test:636',
    ]);
  });

  it('keeps the port of _ldaps._tcp records', () => {
    expect(srvRecordsToUrls([rec('dc1.corp.test', 0, 0, 10636)], 'LDAPS', true)).toEqual([
      'ldaps://dc1.corp.test:10636',
    ]);
  });

  it('skips the "." target (service not offered) and duplicates', () => {
    expect(
      srvRecordsToUrls([rec('.', 0, 0), rec('a.test', 0, 0), rec('a.test.', 1, 0)], 'NONE', false),
    ).toEqual(['ldap://a.test:389']);
  });

  it('brackets IPv6 literals', () => {
    expect(serverUrl('ldap', '::1', 389)).toBe('ldap://[::1]:389');
  });
});
