/**
 * What the gateway trusts and speaks as a TLS client.
 *
 * - A connection's caCertificate is the only trust anchor of that
 *   connection: a gateway whose process trust (NODE_EXTRA_CA_CERTS, here the
 *   CA that signed slapd's certificate) would accept the server still refuses
 *   it when the connection names another CA.
 * - SRV targets outside the connection's domain are refused: skipped with a
 *   warning in the run's log and testConnection's DNS step, and the run fails
 *   naming them when none is left (here they reach slapd, as an attacker's
 *   own server would accept the bind).
 * - TLS 1.2 at least, for LDAPS, StartTLS and rediss://, even when the process
 *   defaults were lowered (as `--tls-min-v1.0` and `--tls-cipher-list` do): a
 *   loopback server that speaks only TLS 1.1 is refused at the TLS step.
 */
import * as net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsmasqInstance, startDnsmasq } from '../../scripts/directories/dnsmasq.js';
import { DEFAULT_LIMITS, type LdapSettings, testConnection } from '../../src/ldap/index.js';
import { silentLogger } from '../../src/model/logger.js';
import { createManagedRedis } from '../../src/store/redis-client.js';
import { AddConnectionDocument, TestConnectionDocument } from '../gql/graphql.js';
import { connectionRecord } from '../support/connections.js';
import { sharedCertificates, sharedSlapd } from '../support/directories.js';
import { gatewayProcesses } from '../support/fixtures.js';
import type { GatewayProcess } from '../support/gateway-process.js';
import { addSlapdConnection, slapdSettings, syncNow } from '../support/sync.js';

const LIMITS = { ...DEFAULT_LIMITS, connectTimeoutMs: 2000, operationTimeoutMs: 2000 };

const processes = gatewayProcesses('ldap-trust');
let gw: GatewayProcess;
let dns: DnsmasqInstance;

beforeAll(async () => {
  const { port } = new URL(sharedSlapd().url);
  dns = await startDnsmasq({
    srv: [
      // The foreign target comes first: a client that follows it binds there.
      { name: '_ldap._tcp.srv.test', target: 'evil.example.net', port: Number(port), priority: 0 },
      { name: '_ldap._tcp.srv.test', target: 'dc1.srv.test', port: Number(port), priority: 10 },
      { name: '_ldap._tcp.only-evil.test', target: 'evil.example.net', port: Number(port) },
    ],
    a: [
      { name: 'evil.example.net', address: '127.0.0.1' },
      { name: 'dc1.srv.test', address: '127.0.0.1' },
    ],
  });
  gw = await processes.spawn(await processes.folder(), {
    // The process trusts the test CA besides Node's roots, as a host whose system store holds it would.
    NODE_EXTRA_CA_CERTS: sharedCertificates().ca.path,
    DIRGATE_DNS_SERVERS: dns.server,
  });
});

afterAll(async () => {
  await dns?.stop();
});

describe('caCertificate is the only trust anchor', () => {
  const input = (caCertificate: string | null, tlsMode: 'STARTTLS' | 'LDAPS' = 'STARTTLS') => {
    const slapd = sharedSlapd();
    return {
      name: 'Trust',
      domain: 'corp.test',
      ...slapdSettings(slapd),
      servers: [tlsMode === 'LDAPS' ? slapd.ldapsUrl : slapd.url],
      tls: tlsMode,
      caCertificate,
    };
  };

  it('without a bundle the process trust applies: the server is accepted', async () => {
    const { testConnection: report } = await gw.ok(TestConnectionDocument, { input: input(null) });
    expect(report.error).toBeNull();
    expect(report.ok).toBe(true);
  });

  it('with another CA as the bundle, the same server is refused at the TLS step (StartTLS and LDAPS)', async () => {
    for (const mode of ['STARTTLS', 'LDAPS'] as const) {
      const { testConnection: report } = await gw.ok(TestConnectionDocument, {
        input: input(sharedCertificates().unknownCa.pem, mode),
      });
      expect(report.ok, mode).toBe(false);
      expect(report.steps.at(-1), mode).toMatchObject({ step: 'TLS', ok: false });
      expect(report.error, mode).toMatch(/certificate/i);
    }
  });

  it('a run with another CA as the bundle fails; with the right one it succeeds', async () => {
    const slapd = sharedSlapd();
    const wrong = await addSlapdConnection(gw, slapd, {
      name: 'Wrong CA',
      tls: 'STARTTLS',
      caCertificate: sharedCertificates().unknownCa.pem,
    });
    const failed = await syncNow(gw, wrong);
    expect(failed.status).toBe('FAILED');
    expect(failed.lastSync?.error).toMatch(/certificate/i);

    const right = await addSlapdConnection(gw, slapd, {
      name: 'Right CA',
      // One search base per domain: the same slapd under another domain.
      domain: 'right.test',
      tls: 'STARTTLS',
      caCertificate: sharedCertificates().ca.pem,
    });
    const succeeded = await syncNow(gw, right);
    expect(succeeded.lastSync?.error ?? null).toBeNull();
    expect(succeeded.status).toBe('SUCCEEDED');
  });
});

describe('SRV targets outside the domain', () => {
  const port = () => new URL(sharedSlapd().url).port;
  const discovered = (domain: string) => ({
    name: `SRV ${domain}`,
    domain,
    ...slapdSettings(sharedSlapd()),
    servers: [] as string[],
    // slapd's certificate names neither host: only the domain check stands between the password and evil.
    tls: 'STARTTLS' as const,
    tlsVerify: false,
  });

  it('are skipped with a warning; the run binds to the target inside the domain', async () => {
    const { testConnection: report } = await gw.ok(TestConnectionDocument, { input: discovered('srv.test') });
    expect(report.ok).toBe(true);
    expect(report.server).toBe(`ldap://dc1.srv.test:${port()}`);
    expect(report.steps[0]).toMatchObject({ step: 'DNS', ok: true });
    expect(report.steps[0]?.detail).toContain(
      `refused (a DC must be srv.test or below it): evil.example.net:${port()}`,
    );

    const { addConnection } = await gw.ok(AddConnectionDocument, { input: discovered('srv.test') });
    const c = await syncNow(gw, addConnection.id);
    expect(c.status).toBe('SUCCEEDED');
    expect(c.activeServer).toBe(`ldap://dc1.srv.test:${port()}`);
    expect(gw.output()).toContain(`SRV targets outside srv.test refused`);
  });

  it('when none is left, the run fails naming them and testConnection fails at DNS', async () => {
    const { testConnection: report } = await gw.ok(TestConnectionDocument, {
      input: discovered('only-evil.test'),
    });
    expect(report.ok).toBe(false);
    expect(report.steps.map((s) => [s.step, s.ok])).toEqual([['DNS', false]]);
    expect(report.error).toContain(`outside the domain, refused: evil.example.net:${port()}`);

    const { addConnection } = await gw.ok(AddConnectionDocument, { input: discovered('only-evil.test') });
    const c = await syncNow(gw, addConnection.id);
    expect(c.status).toBe('FAILED');
    expect(c.lastSync?.error).toContain(`evil.example.net:${port()}`);
  });
});

/** A TLS server on loopback that speaks TLS 1.1 only; for `startTls`, after an LDAP StartTLS exchange. */
async function tls11Server(startTls: boolean): Promise<{
  readonly port: number;
  readonly url: string;
  /** Handshakes that completed. */
  handshakes(): number;
  close(): Promise<void>;
}> {
  const certificates = sharedCertificates();
  const context = tls.createSecureContext({
    key: certificates.serverKey.pem,
    cert: certificates.server.pem,
    minVersion: 'TLSv1.1',
    maxVersion: 'TLSv1.1',
    // TLS 1.1 signs with SHA-1, which OpenSSL 3 allows at security level 0 only.
    ciphers: 'DEFAULT:@SECLEVEL=0',
  });
  let handshakes = 0;
  const sockets = new Set<net.Socket>();
  const secure = (socket: net.Socket): void => {
    const upgraded = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
    upgraded.on('error', () => undefined);
    upgraded.on('secure', () => {
      handshakes++;
      // Nothing LDAP follows: the client's bind (or RootDSE read) gets no answer.
      upgraded.end();
    });
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (!startTls) return secure(socket);
    socket.once('data', (request) => {
      // The StartTLS request's messageID is a one-byte INTEGER at offset 4 for small ids.
      const id = request[4] ?? 1;
      // LDAPMessage { id, extendedResp [APPLICATION 24] { success, "", "" } }
      socket.write(
        Buffer.from([0x30, 0x0c, 0x02, 0x01, id, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]),
      );
      secure(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    url: `${startTls ? 'ldap' : 'ldaps'}://127.0.0.1:${port}`,
    handshakes: () => handshakes,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('TLS 1.2 at least, whatever the process defaults say', () => {
  const saved = { min: tls.DEFAULT_MIN_VERSION, ciphers: tls.DEFAULT_CIPHERS };
  beforeAll(() => {
    // What `node --tls-min-v1.0 --tls-cipher-list=DEFAULT:@SECLEVEL=0` (or NODE_OPTIONS) does.
    tls.DEFAULT_MIN_VERSION = 'TLSv1';
    tls.DEFAULT_CIPHERS = 'DEFAULT:@SECLEVEL=0';
  });
  afterAll(() => {
    tls.DEFAULT_MIN_VERSION = saved.min;
    tls.DEFAULT_CIPHERS = saved.ciphers;
  });

  const settings = (url: string, mode: 'STARTTLS' | 'LDAPS'): LdapSettings => ({
    ...connectionRecord({ servers: [url], tls: mode, caCertificate: sharedCertificates().ca.pem }),
    bindPassword: null,
    keytab: null,
  });

  it('the lowered defaults are in effect: a client without minVersion completes TLS 1.1', async () => {
    const server = await tls11Server(false);
    try {
      const protocol = await new Promise<string | null>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: server.port, ca: sharedCertificates().ca.pem });
        socket.once('secureConnect', () => {
          resolve(socket.getProtocol());
          socket.destroy();
        });
        socket.once('error', reject);
      });
      expect(protocol).toBe('TLSv1.1');
    } finally {
      await server.close();
    }
  });

  for (const mode of ['LDAPS', 'STARTTLS'] as const) {
    it(`${mode} to a server that speaks only TLS 1.1 fails at the TLS step`, async () => {
      const server = await tls11Server(mode === 'STARTTLS');
      try {
        const report = await testConnection(settings(server.url, mode), LIMITS);
        expect(report.ok).toBe(false);
        expect(report.steps.map((s) => [s.step, s.ok])).toEqual([
          ['TCP', true],
          ['TLS', false],
        ]);
        expect(server.handshakes()).toBe(0);
      } finally {
        await server.close();
      }
    });
  }

  it('rediss:// to a server that speaks only TLS 1.1 fails the handshake', async () => {
    const server = await tls11Server(false);
    let lost: (message: string) => void = () => {};
    const failure = new Promise<string>((resolve) => {
      lost = resolve;
    });
    const redis = createManagedRedis(`rediss://127.0.0.1:${server.port}`, {
      logger: { ...silentLogger, warn: (obj) => lost(String((obj as { err?: unknown }).err)) },
      role: 'trust test',
      failFastOffline: true,
    });
    try {
      redis.client.connect().catch(() => undefined);
      expect(await failure).toMatch(/version|protocol/i);
      expect(server.handshakes()).toBe(0);
    } finally {
      await redis.close(200);
      await server.close();
    }
  });
});
