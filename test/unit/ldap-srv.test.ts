import type { SrvRecord } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { DnsDiscoveryError } from '../../src/ldap/errors.js';
import { DEFAULT_LIMITS } from '../../src/ldap/limits.js';
import {
  discoverServers,
  isWithinDomain,
  orderSrvRecords,
  serverUrl,
  srvRecordsToUrls,
} from '../../src/ldap/srv-discovery.js';
import { hostileDnsServer, type SrvTarget } from '../support/hostile-dns.js';

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

describe('SRV targets outside the domain', () => {
  it('a target is the domain itself or below it, compared as DNS names', () => {
    expect(isWithinDomain('dc1.corp.test', 'corp.test')).toBe(true);
    expect(isWithinDomain('DC1.Corp.Test.', 'corp.test')).toBe(true);
    expect(isWithinDomain('corp.test', 'corp.test.')).toBe(true);
    expect(isWithinDomain('dc1.emea.corp.test', 'corp.test')).toBe(true);
    expect(isWithinDomain('evil.example.net', 'corp.test')).toBe(false);
    expect(isWithinDomain('evilcorp.test', 'corp.test')).toBe(false);
    expect(isWithinDomain('corp.test.evil.example.net', 'corp.test')).toBe(false);
    expect(isWithinDomain('127.0.0.1', 'corp.test')).toBe(false);
    expect(isWithinDomain('dc1.corp.test', '')).toBe(false);
  });

  /** Discovery against a loopback DNS server answering every SRV name with `targets`. */
  async function discover(domain: string, targets: readonly SrvTarget[]) {
    const dns = await hostileDnsServer({
      forged: [],
      forgedTarget: targets[0] ?? { target: 'x', port: 1 },
      rightTarget: targets,
      delayMs: 0,
    });
    try {
      return await discoverServers(domain, 'NONE', {
        ...DEFAULT_LIMITS,
        dnsServers: [dns.server],
        dnsTimeoutMs: 1000,
      }).catch((e: unknown) => e);
    } finally {
      await dns.close();
    }
  }

  it('skips them and reports them; the targets inside are used', async () => {
    const found = await discover('corp.test', [
      { target: 'evil.example.net', port: 389 },
      { target: 'dc1.corp.test', port: 1389 },
    ]);
    expect(found).toEqual({
      urls: ['ldap://dc1.corp.test:1389'],
      queried: '_ldap._tcp.corp.test',
      refused: ['evil.example.net:389'],
    });
  });

  it('fails naming them when no target is left', async () => {
    const err = await discover('corp.test', [
      { target: 'evil.example.net', port: 389 },
      { target: 'corp.test.evil.example.net', port: 636 },
    ]);
    expect(err).toBeInstanceOf(DnsDiscoveryError);
    expect((err as DnsDiscoveryError).code).toBe('SRV_TARGETS_OUTSIDE_DOMAIN');
    expect((err as DnsDiscoveryError).message).toContain(
      'evil.example.net:389, corp.test.evil.example.net:636',
    );
  });
});
