/**
 * The fallback DNS client against a hostile server on loopback: forged
 * replies (another id, another question, another source port, a query
 * instead of a reply) arrive before the true one and are all ignored; the
 * true reply, its name in another case, is taken. Query ids come from a
 * CSPRNG.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { answersQuery, encodeSrvQuery, resolveSrvOnTheWire } from '../../src/ldap/dns-wire.js';
import { type ForgedReply, type HostileDns, hostileDnsServer, srvReply } from '../support/hostile-dns.js';

const NAME = '_ldap._tcp.corp.test';
const FORGED = { target: 'evil.example.net', port: 389 };
const RIGHT = { target: 'dc1.corp.test', port: 1389 };

let servers: HostileDns[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function hostile(
  forged: readonly ForgedReply[],
  right: typeof RIGHT | null = RIGHT,
): Promise<HostileDns> {
  const server = await hostileDnsServer({ forged, forgedTarget: FORGED, rightTarget: right });
  servers.push(server);
  return server;
}

describe('the fallback DNS client', () => {
  for (const kind of ['wrong-id', 'other-question', 'other-port', 'not-a-reply'] as const) {
    it(`ignores a forged reply (${kind}) and takes the true one after it`, async () => {
      const dns = await hostile([kind]);
      const records = await resolveSrvOnTheWire(NAME, [dns.server], 2000);
      expect(records).toEqual([{ priority: 0, weight: 100, port: RIGHT.port, name: RIGHT.target }]);
    });
  }

  it('accepts none of them when no true reply comes: a timeout, not the forged target', async () => {
    const dns = await hostile(['wrong-id', 'other-question', 'other-port', 'not-a-reply'], null);
    const started = performance.now();
    await expect(resolveSrvOnTheWire(NAME, [dns.server], 300)).rejects.toMatchObject({ code: 'DNS_TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(1500);
    expect(dns.queries).toHaveLength(1);
  });

  it('draws query ids from a CSPRNG, not Math.random', async () => {
    // With Math.random fixed, ids derived from it would all be equal.
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const dns = await hostile([]);
    for (let i = 0; i < 6; i++) await resolveSrvOnTheWire(NAME, [dns.server], 2000);
    const ids = new Set(dns.queries.map((q) => q.readUInt16BE(0)));
    expect(dns.queries).toHaveLength(6);
    expect(ids.size).toBeGreaterThan(1);
  });
});

describe('answersQuery', () => {
  const query = encodeSrvQuery(0x1234, NAME);
  const question = query.subarray(12);

  it('takes a reply with our id and our question, the name in any case', () => {
    expect(answersQuery(srvReply(0x1234, question, RIGHT), query)).toBe(true);
    const shouted = Buffer.from(question.toString('latin1').toUpperCase(), 'latin1');
    expect(answersQuery(srvReply(0x1234, shouted, RIGHT), query)).toBe(true);
  });

  it('refuses another id, another name, type or class, a query, and garbage', () => {
    expect(answersQuery(srvReply(0x1235, question, RIGHT), query)).toBe(false);
    const other = encodeSrvQuery(0x1234, '_ldap._tcp.corp.test.evil.example.net').subarray(12);
    expect(answersQuery(srvReply(0x1234, other, RIGHT), query)).toBe(false);
    const typeA = Buffer.from(question);
    typeA.writeUInt16BE(1, typeA.length - 4);
    expect(answersQuery(srvReply(0x1234, typeA, RIGHT), query)).toBe(false);
    const chaos = Buffer.from(question);
    chaos.writeUInt16BE(3, chaos.length - 2);
    expect(answersQuery(srvReply(0x1234, chaos, RIGHT), query)).toBe(false);
    expect(answersQuery(srvReply(0x1234, question, RIGHT, 0x0100), query)).toBe(false);
    expect(answersQuery(Buffer.from([0x12, 0x34, 0x81, 0x80]), query)).toBe(false);
    const truncatedQuestion = srvReply(0x1234, question, RIGHT).subarray(0, 20);
    expect(answersQuery(truncatedQuestion, query)).toBe(false);
  });
});
