import { describe, expect, it } from 'vitest';
import { decodeSrvResponse, encodeSrvQuery, parseDnsServer } from '../../src/ldap/dns-wire.js';

/**
 * Samba 4.17's internal DNS answering `_ldap._tcp.corp.test SRV` (captured
 * here): the SRV target is `dc1` plus a compression pointer to `corp.test`,
 * which c-ares 1.34.8 rejects with EBADRESP.
 */
const SAMBA_REPLY = Buffer.from(
  '123485000001000100010000055f6c646170045f74637004636f727004746573740000210001c00c0021000100000384000c' +
    '00000064018503646331c017c0170006000100000e100023c0380a686f73746d6173746572c0170000000100000384000002' +
    '580001518000000e10',
  'hex',
);

describe('DNS SRV on the wire', () => {
  it('decodes a reply with a compressed SRV target', () => {
    expect(decodeSrvResponse(SAMBA_REPLY, 0x1234)).toEqual({
      rcode: 0,
      truncated: false,
      records: [{ priority: 0, weight: 100, port: 389, name: 'dc1.corp.test' }],
    });
  });

  it('refuses replies to other queries and malformed messages', () => {
    expect(() => decodeSrvResponse(SAMBA_REPLY, 0x4321)).toThrow(RangeError);
    expect(() => decodeSrvResponse(SAMBA_REPLY.subarray(0, 40), 0x1234)).toThrow(RangeError);
    // A name pointing at itself.
    const loop = Buffer.from(SAMBA_REPLY);
    loop.writeUInt16BE(0xc000 | 12, 12);
    expect(() => decodeSrvResponse(loop, 0x1234)).toThrow(RangeError);
  });

  it('encodes the query Samba answered', () => {
    expect(encodeSrvQuery(0x1234, '_ldap._tcp.corp.test').toString('hex')).toBe(
      '123401000001000000000000055f6c646170045f74637004636f727004746573740000210001',
    );
  });

  it('parses DNS server notations', () => {
    expect(parseDnsServer('127.0.0.1')).toEqual({ host: '127.0.0.1', port: 53 });
    expect(parseDnsServer('127.0.0.1:15353')).toEqual({ host: '127.0.0.1', port: 15353 });
    expect(parseDnsServer('[::1]:5300')).toEqual({ host: '::1', port: 5300 });
    expect(parseDnsServer('::1')).toEqual({ host: '::1', port: 53 });
  });
});
