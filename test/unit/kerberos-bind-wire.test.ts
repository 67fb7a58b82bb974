import * as net from 'node:net';
import fc from 'fast-check';
import { BerReader } from 'ldapts';
import { afterEach, describe, expect, it } from 'vitest';
import { KerberosError } from '../../src/ldap/errors.js';
import {
  BindWireError,
  decodeResponse,
  encodeSaslBind,
  encodeStartTls,
  exchange,
  MAX_BIND_RESPONSE_BYTES,
  START_TLS_OID,
} from '../../src/ldap/kerberos/bind-wire.js';
import { parseKdc } from '../../src/ldap/kerberos/kdc-discovery.js';
import { kerberosFailure } from '../../src/ldap/kerberos/kerberos-failure.js';
import { renderKrb5Conf } from '../../src/ldap/kerberos/krb5-profile.js';

// A BER writer of our own for the server's side, so that the decoder is not checked against itself.
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const int = (tag: number, v: number) => tlv(tag, Buffer.from(v < 0x80 ? [v] : [v >> 8, v & 0xff]));
const str = (text: string | Buffer) => tlv(0x04, Buffer.isBuffer(text) ? text : Buffer.from(text));

function bindResponse(
  id: number,
  code: number,
  options: { diag?: string; creds?: Buffer; referral?: boolean } = {},
) {
  const parts = [int(0x0a, code), str(''), str(options.diag ?? '')];
  if (options.referral) parts.push(tlv(0xa3, str('ldap://elsewhere/')));
  if (options.creds) parts.push(tlv(0x87, options.creds));
  return tlv(0x30, Buffer.concat([int(0x02, id), tlv(0x61, Buffer.concat(parts))]));
}

describe('SASL bind messages', () => {
  it('a GSSAPI bind request reads back, by ldapts’ own BER reader, as version 3, empty name, SASL GSSAPI with the token', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.uint8Array({ maxLength: 5000 }),
        (id, token) => {
          const reader = new BerReader(encodeSaslBind(id, 'GSSAPI', Buffer.from(token)));
          reader.readSequence();
          expect(reader.readInt()).toBe(id);
          expect(reader.readSequence()).toBe(0x60);
          expect(reader.readInt()).toBe(3);
          expect(reader.readString()).toBe('');
          expect(reader.readSequence()).toBe(0xa3);
          expect(reader.readString()).toBe('GSSAPI');
          const creds = reader.readString(0x04, true) as Buffer;
          expect(Buffer.compare(creds, Buffer.from(token))).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a bind request without credentials has no credentials field; StartTLS names its OID', () => {
    const reader = new BerReader(encodeSaslBind(2, 'GSSAPI', null));
    reader.readSequence();
    reader.readInt();
    reader.readSequence();
    reader.readInt();
    reader.readString();
    expect(reader.readSequence(0xa3)).toBe(0xa3);
    expect(reader.length).toBe(8); // just the mechanism: 04 06 "GSSAPI"
    const tls = encodeStartTls(1);
    expect(tls.includes(Buffer.from(START_TLS_OID))).toBe(true);
    expect(tls[5]).toBe(0x77);
  });

  it('reads result code, diagnostic and serverSaslCreds, past a referral', () => {
    const creds = Buffer.from([0x60, 0x01, 0xff, 0x00]);
    const r = decodeResponse(bindResponse(3, 14, { diag: 'go on', creds, referral: true }));
    expect(r).toEqual({
      messageId: 3,
      operation: 'bind',
      resultCode: 14,
      diagnosticMessage: 'go on',
      serverSaslCreds: creds,
    });
    expect(decodeResponse(bindResponse(200, 0)).serverSaslCreds).toBeNull();
  });

  it('refuses what is not a bind or extended response, and truncated elements', () => {
    const search = tlv(
      0x30,
      Buffer.concat([int(0x02, 1), tlv(0x64, Buffer.concat([str('cn=x'), tlv(0x30, Buffer.alloc(0))]))]),
    );
    expect(() => decodeResponse(search)).toThrow(BindWireError);
    const whole = bindResponse(1, 0, { diag: 'abc' });
    const cut = Buffer.concat([
      whole.subarray(0, 1),
      Buffer.from([whole.length]),
      whole.subarray(2, whole.length - 2),
    ]);
    expect(() => decodeResponse(cut)).toThrow(BindWireError);
  });
});

describe('one exchange on a socket', () => {
  const servers: net.Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  /** A loopback peer that answers the first request with `answer`, cut into pieces of `piece` bytes. */
  async function peer(answer: Buffer, piece: number): Promise<net.Socket> {
    const server = net.createServer((socket) => {
      socket.once('data', async () => {
        for (let at = 0; at < answer.length; at += piece) {
          socket.write(answer.subarray(at, at + piece));
          await new Promise((r) => setImmediate(r));
        }
      });
      socket.on('error', () => undefined);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('connect', r));
    return socket;
  }

  it('reassembles a response however the socket cuts it', async () => {
    const creds = Buffer.alloc(3000, 7);
    for (const piece of [1, 7, 1000, 100000]) {
      const socket = await peer(bindResponse(1, 14, { creds }), piece);
      const r = await exchange(socket, encodeSaslBind(1, 'GSSAPI', Buffer.from('x')), 1);
      expect(r.resultCode).toBe(14);
      expect(r.serverSaslCreds?.equals(creds)).toBe(true);
      socket.destroy();
    }
  });

  it('refuses a response to another message, a notice of disconnection, data after the response, and a huge length', async () => {
    const cases: [Buffer, RegExp][] = [
      [bindResponse(5, 0), /message 5, not 1/],
      [bindResponse(0, 52, { diag: 'bye' }).subarray(0), /ended the session: bye/],
      [Buffer.concat([bindResponse(1, 0), Buffer.from([0x30])]), /data after the response/],
      [Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]), new RegExp(`more than ${MAX_BIND_RESPONSE_BYTES}`)],
    ];
    for (const [answer, reason] of cases) {
      const socket = await peer(answer, answer.length);
      await expect(exchange(socket, encodeSaslBind(1, 'GSSAPI', null), 1)).rejects.toThrow(reason);
      socket.destroy();
    }
  });

  it('a peer that closes mid-bind fails the exchange', async () => {
    const socket = await peer(bindResponse(1, 0).subarray(0, 4), 4);
    const pending = exchange(socket, encodeSaslBind(1, 'GSSAPI', null), 1);
    setTimeout(() => servers[0]?.close(), 10);
    for (const s of servers) s.close();
    setTimeout(() => socket.end(), 20);
    await expect(pending).rejects.toThrow(/closed during the bind/);
  });
});

describe('KDC names and krb5.conf', () => {
  it('takes host, host:port and bracketed IPv6; refuses the rest', () => {
    expect(parseKdc('kdc1.corp.test')).toEqual({ host: 'kdc1.corp.test', port: 88 });
    expect(parseKdc('10.0.0.1:8888')).toEqual({ host: '10.0.0.1', port: 8888 });
    expect(parseKdc('[::1]:88')).toEqual({ host: '::1', port: 88 });
    for (const bad of ['', 'a b', 'kdc:0', 'kdc:70000', '[nothex]:88', 'kdc}\n[realms]', 'x:88:99', '::1']) {
      expect(parseKdc(bad), bad).toBeNull();
    }
  });

  it('writes each realm in the block form, and refuses a realm or KDC that would break the file', () => {
    const text = renderKrb5Conf(
      new Map([
        ['CORP.TEST', ['127.0.0.1:88', '[::1]:88']],
        ['A.TEST', []],
      ]),
    );
    expect(text).toMatch(
      /\[realms\]\n {2}A\.TEST = \{\n {2}\}\n {2}CORP\.TEST = \{\n {4}kdc = 127\.0\.0\.1:88\n {4}kdc = \[::1\]:88\n {2}\}\n$/,
    );
    expect(text).toMatch(/kdc_timesync = 0/);
    expect(text).toMatch(/dns_lookup_kdc = false/);
    expect(() => renderKrb5Conf(new Map([['EVIL = {\n kdc = 1.2.3.4', []]]))).toThrow(RangeError);
    expect(() => renderKrb5Conf(new Map([['CORP.TEST', ['kdc.example:88']]]))).toThrow(RangeError);
  });
});

describe('Kerberos failures, by krb5 error code', () => {
  const context = {
    principal: 'svc@CORP.TEST',
    realm: 'CORP.TEST',
    kvno: 2,
    host: 'dc1.corp.test',
    kdcs: '127.0.0.1:88',
    step: 'KERBEROS' as const,
    server: 'ldap://dc1.corp.test:389',
  };
  const failure = (minor: number) =>
    Object.assign(new Error('gss_init_sec_context: text'), { call: 'x', major: 851968, minor });

  it('names the code first and keeps MIT’s words', () => {
    const cases: [number, string, RegExp][] = [
      [-1765328228, 'KDC_UNREACHABLE', /127\.0\.0\.1:88/],
      [-1765328378, 'KERBEROS_PRINCIPAL_UNKNOWN', /svc@CORP\.TEST/],
      [
        -1765328360,
        'KERBEROS_KEY_MISMATCH',
        /key version 2.*password was changed after the keytab was exported/,
      ],
      [-1765328347, 'CLOCK_SKEW', /clock/],
      [-1765328236, 'CLOCK_SKEW', /NTP/],
      [-1765328377, 'SPN_MISSING', /ldap\/dc1\.corp\.test/],
      [-1765328366, 'KERBEROS_ACCOUNT_DISABLED', /disabled/],
      [-1, 'KERBEROS_FAILED', /svc@CORP\.TEST/],
    ];
    for (const [minor, code, words] of cases) {
      const err = kerberosFailure(failure(minor), context);
      expect(err).toBeInstanceOf(KerberosError);
      expect(err.code).toBe(code);
      expect(err.message.startsWith(`${code}: `)).toBe(true);
      expect(err.message).toMatch(words);
      expect(err.message).toMatch(/\(gss_init_sec_context: text\)$/);
      expect(err.step).toBe('KERBEROS');
    }
    expect(kerberosFailure(new Error('plain'), context).code).toBe('KERBEROS_FAILED');
  });
});
