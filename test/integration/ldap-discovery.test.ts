/**
 * DNS SRV discovery against a private dnsmasq: RFC 2782 order, a dead
 * higher-priority controller (127.0.0.2, nothing listening) skipped for the
 * next one, LDAPS by `_ldaps._tcp`, AD's `_msdcs` fallback, and Samba-style
 * compressed SRV targets that Node's resolver rejects.
 */
import { createSocket } from 'node:dgram';
import { promises as dns } from 'node:dns';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsmasqInstance, startDnsmasq } from '../../scripts/directories/dnsmasq.js';
import { resolveSrvOnTheWire } from '../../src/ldap/dns-wire.js';
import {
  DEFAULT_LIMITS,
  DnsDiscoveryError,
  discoverServers,
  type LdapLimits,
  type LdapSettings,
  NoServerAvailableError,
  openSession,
  TlsError,
  testConnection,
} from '../../src/ldap/index.js';

import { privateSlapd } from '../support/fixtures.js';

const directory = privateSlapd({
  users: 20,
  groups: 3,
  contacts: 2,
  seed: 'ldap-discovery',
  largeGroupSize: 0,
});
let dnsmasq: DnsmasqInstance;
let limits: LdapLimits;

function settingsFor(overrides: Partial<LdapSettings> = {}): LdapSettings {
  return {
    domain: 'corp.test',
    searchBase: directory.slapd.baseDn,
    servers: [],
    tls: 'NONE',
    caCertificate: directory.slapd.certificates.ca.pem,
    tlsVerify: true,
    allowPlaintextBind: true,
    auth: 'SIMPLE',
    bindDn: directory.slapd.reader.dn,
    bindPassword: directory.slapd.reader.password,
    keytab: null,
    keytabPrincipal: null,
    kdcs: [],
    includeContacts: false,
    overrides: {},
    ...overrides,
  };
}

beforeAll(async () => {
  dnsmasq = await startDnsmasq({
    srv: [
      // The dead DC comes first (priority 0); the live one, slapd, second.
      { name: '_ldap._tcp.corp.test', target: 'dead.corp.test', port: 389, priority: 0, weight: 100 },
      {
        name: '_ldap._tcp.corp.test',
        target: 'dc1.corp.test',
        port: directory.slapd.port,
        priority: 10,
        weight: 100,
      },
      { name: '_ldaps._tcp.corp.test', target: 'dead.corp.test', port: 636, priority: 0, weight: 100 },
      {
        name: '_ldaps._tcp.corp.test',
        target: 'dc1.corp.test',
        port: directory.slapd.ldapsPort,
        priority: 10,
        weight: 0,
      },
      // Only AD's DC locator name: the fallback must find it.
      { name: '_ldap._tcp.dc._msdcs.other.test', target: 'dc1.other.test', port: directory.slapd.port },
    ],
    a: [
      { name: 'dc1.corp.test', address: '127.0.0.1' },
      { name: 'dead.corp.test', address: '127.0.0.2' },
      { name: 'dc1.other.test', address: '127.0.0.1' },
      // Reaches slapd, but the certificate does not carry this name.
      { name: 'wrong.corp.test', address: '127.0.0.1' },
    ],
  });
  limits = { ...DEFAULT_LIMITS, dnsServers: [dnsmasq.server], dnsTimeoutMs: 1000, connectTimeoutMs: 1000 };
}, 60_000);

afterAll(async () => {
  await dnsmasq?.stop();
});

describe('SRV discovery', () => {
  it('orders the targets by priority', async () => {
    const found = await discoverServers('corp.test', 'NONE', limits);
    expect(found.queried).toBe('_ldap._tcp.corp.test');
    expect(found.urls).toEqual(['ldap://dead.corp.test:389', `ldap://dc1.corp.test:${directory.slapd.port}`]);
  });

  it('skips the dead controller and binds to the next one', async () => {
    const session = await openSession(settingsFor(), limits);
    try {
      expect(session.server).toBe(`ldap://dc1.corp.test:${directory.slapd.port}`);
      const stats = await session.read('USER', () => {});
      expect(stats.entries).toBe(20);
    } finally {
      await session.close();
    }
  });

  it('finds LDAPS servers by _ldaps._tcp and verifies the certificate by the SRV target name', async () => {
    const session = await openSession(settingsFor({ tls: 'LDAPS' }), limits);
    expect(session.server).toBe(`ldaps://dc1.corp.test:${directory.slapd.ldapsPort}`);
    await session.close();
  });

  it('refuses a certificate that does not name the server', async () => {
    const err = await openSession(
      settingsFor({ tls: 'LDAPS', servers: [`ldaps://wrong.corp.test:${directory.slapd.ldapsPort}`] }),
      limits,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoServerAvailableError);
    const cause = (err as NoServerAvailableError).causes[0];
    expect(cause).toBeInstanceOf(TlsError);
    expect(cause?.code).toBe('TLS_NAME_MISMATCH');
  });

  it("falls back to AD's _ldap._tcp.dc._msdcs name", async () => {
    const found = await discoverServers('other.test', 'NONE', limits);
    expect(found.queried).toBe('_ldap._tcp.dc._msdcs.other.test');
    expect(found.urls).toEqual([`ldap://dc1.other.test:${directory.slapd.port}`]);
  });

  it('reports a domain without records as NO_SRV_RECORDS', async () => {
    const err = await discoverServers('nothing.corp.test', 'NONE', limits).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsDiscoveryError);
    expect((err as DnsDiscoveryError).code).toBe('NO_SRV_RECORDS');
  });

  it('lists every discovered server when none works', async () => {
    const err = await openSession(settingsFor({ bindPassword: 'x' }), {
      ...limits,
      dnsServers: [dnsmasq.server],
    })
      .then(() => null)
      .catch((e: unknown) => e);
    // A wrong password stops at the first server that answers (lockout), after the dead one.
    expect((err as Error).name).toBe('BindError');
    const stopped = await (async () => {
      await directory.slapd.stop();
      try {
        return await openSession(settingsFor(), limits).catch((e: unknown) => e);
      } finally {
        await directory.slapd.start();
      }
    })();
    expect(stopped).toBeInstanceOf(NoServerAvailableError);
    expect((stopped as NoServerAvailableError).attempts.map((a) => [a.server, a.code])).toEqual([
      ['ldap://dead.corp.test:389', 'CONNECTION_REFUSED'],
      [`ldap://dc1.corp.test:${directory.slapd.port}`, 'CONNECTION_REFUSED'],
    ]);
  });

  it('times out on an unanswering DNS server', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const started = performance.now();
      const err = await discoverServers('corp.test', 'NONE', {
        ...limits,
        dnsServers: [`127.0.0.1:${port}`],
        dnsTimeoutMs: 300,
      }).catch((e: unknown) => e);
      expect((err as DnsDiscoveryError).code).toBe('DNS_TIMEOUT');
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      silent.close();
    }
  });

  it('testConnection shows the SRV lookup, the dead controller and the one that worked', async () => {
    const report = await testConnection(settingsFor(), limits);
    expect(report.ok).toBe(true);
    expect(report.server).toBe(`ldap://dc1.corp.test:${directory.slapd.port}`);
    expect(report.steps.map((s) => [s.step, s.ok])).toEqual([
      ['DNS', true], // SRV
      ['DNS', true], // dead.corp.test → 127.0.0.2
      ['TCP', false],
      ['DNS', true], // dc1.corp.test → 127.0.0.1
      ['TCP', true],
      ['BIND', true],
      ['SEARCH', true],
    ]);
    expect(report.users).toBe(20);
  });
});

describe('compressed SRV targets (Samba DNS)', () => {
  /** Samba 4.17's reply to `_ldap._tcp.corp.test SRV`, captured: the target is `dc1` + a pointer. */
  const SAMBA_REPLY = Buffer.from(
    '123485000001000100010000055f6c646170045f74637004636f727004746573740000210001c00c0021000100000384000c' +
      '00000064018503646331c017c0170006000100000e100023c0380a686f73746d6173746572c0170000000100000384000002' +
      '580001518000000e10',
    'hex',
  );

  it('are read although Node’s resolver rejects them', async () => {
    const server = createSocket('udp4');
    server.on('message', (query, peer) => {
      const reply = Buffer.from(SAMBA_REPLY);
      query.copy(reply, 0, 0, 2); // the query's id
      reply.writeUInt16BE(reply.readUInt16BE(2) | (query.readUInt16BE(2) & 0x0100), 2);
      server.send(reply, peer.port, peer.address);
    });
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const resolver = new dns.Resolver({ timeout: 500, tries: 1 });
      resolver.setServers([`127.0.0.1:${port}`]);
      const direct = await resolver.resolveSrv('_ldap._tcp.corp.test').catch((e: unknown) => e);
      // If a future Node accepts the reply, the fallback is simply not needed any more.
      if (direct instanceof Error) expect((direct as NodeJS.ErrnoException).code).toBe('EBADRESP');

      const found = await discoverServers('corp.test', 'NONE', {
        ...limits,
        dnsServers: [`127.0.0.1:${port}`],
      });
      expect(found.urls).toEqual(['ldap://dc1.corp.test:389']);
    } finally {
      server.close();
    }
  });

  it('the wire client gives up on a silent server within its bound', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      await expect(
        resolveSrvOnTheWire('_ldap._tcp.corp.test', [`127.0.0.1:${port}`], 200),
      ).rejects.toMatchObject({
        code: 'DNS_TIMEOUT',
      });
    } finally {
      silent.close();
    }
  });
});
