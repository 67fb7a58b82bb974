/**
 * A minimal DNS SRV client on the wire, used only when Node's resolver
 * rejects a valid answer. Samba's internal DNS (an AD DC's own DNS) writes
 * SRV targets with name compression (`dc1` + a pointer to `corp.test`), and
 * c-ares 1.34.x (Node 24) answers such replies with EBADRESP
 * (nodejs/node#66173). RFC 2782 says the target should not be compressed,
 * but the DCs exist, so we read them: one UDP query without EDNS (Samba does
 * not answer EDNS queries here), TCP when the reply is truncated.
 *
 * The answer picks the servers the bind password goes to, so an off-path
 * spoofer must not be able to plant one: the query id is random (a CSPRNG,
 * not Math.random), the UDP socket is connected (the kernel drops datagrams
 * from any other address or port), and a reply counts only when it comes
 * from the server asked, carries our id and echoes our question (name
 * case-insensitively, type and class). Any other datagram is ignored and the
 * wait goes on until the timeout, as resolvers do.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { getServers, type SrvRecord } from 'node:dns';
import { isIP, connect as tcpConnect } from 'node:net';
import { DnsDiscoveryError } from './errors.js';

const TYPE_SRV = 33;
const CLASS_IN = 1;

export function encodeSrvQuery(id: number, name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.');
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // standard query, recursion desired
  header.writeUInt16BE(1, 4); // one question
  parts.push(header);
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length === 0 || bytes.length > 63) throw new RangeError(`bad DNS label in ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(TYPE_SRV, 1);
  tail.writeUInt16BE(CLASS_IN, 3);
  parts.push(tail);
  return Buffer.concat(parts);
}

/** Reads a possibly compressed domain name at `offset`; returns it and the offset after it in place. */
function readName(message: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let position = offset;
  let next = -1;
  // A pointer loop would never end: no valid message needs more jumps than it has bytes / 2.
  for (let jumps = 0; jumps < message.length; ) {
    const length = message.readUInt8(position);
    if (length === 0) {
      if (next < 0) next = position + 1;
      return { name: labels.join('.'), next };
    }
    if ((length & 0xc0) === 0xc0) {
      if (next < 0) next = position + 2;
      position = message.readUInt16BE(position) & 0x3fff;
      jumps++;
      continue;
    }
    if ((length & 0xc0) !== 0) throw new RangeError('unsupported DNS label type');
    labels.push(message.toString('ascii', position + 1, position + 1 + length));
    position += 1 + length;
    if (position > message.length) throw new RangeError('DNS name runs past the message');
  }
  throw new RangeError('DNS name compression loop');
}

interface Question {
  readonly name: string;
  readonly type: number;
  readonly klass: number;
}

/** The first question of a message, or null when it has none or it cannot be read. */
function firstQuestion(message: Buffer): Question | null {
  try {
    if (message.length < 12 || message.readUInt16BE(4) < 1) return null;
    const { name, next } = readName(message, 12);
    return {
      name: name.toLowerCase(),
      type: message.readUInt16BE(next),
      klass: message.readUInt16BE(next + 2),
    };
  } catch {
    return null;
  }
}

/**
 * Whether `reply` answers `query`: a response (QR set) with the query's id and
 * one question equal to the query's (the name compared case-insensitively).
 */
export function answersQuery(reply: Buffer, query: Buffer): boolean {
  if (reply.length < 12 || query.length < 12) return false;
  if (reply.readUInt16BE(0) !== query.readUInt16BE(0)) return false;
  if ((reply.readUInt16BE(2) & 0x8000) === 0) return false;
  if (reply.readUInt16BE(4) !== 1) return false;
  const asked = firstQuestion(query);
  const echoed = firstQuestion(reply);
  return (
    asked !== null &&
    echoed !== null &&
    echoed.name === asked.name &&
    echoed.type === asked.type &&
    echoed.klass === asked.klass
  );
}

export interface SrvResponse {
  readonly rcode: number;
  readonly truncated: boolean;
  readonly records: SrvRecord[];
}

/** Parses a reply to encodeSrvQuery; throws RangeError on a malformed message. */
export function decodeSrvResponse(message: Buffer, id: number): SrvResponse {
  if (message.length < 12) throw new RangeError('DNS reply shorter than its header');
  if (message.readUInt16BE(0) !== id) throw new RangeError('DNS reply for another query');
  const flags = message.readUInt16BE(2);
  if ((flags & 0x8000) === 0) throw new RangeError('DNS message is not a reply');
  const truncated = (flags & 0x0200) !== 0;
  const rcode = flags & 0x000f;
  const questions = message.readUInt16BE(4);
  const answers = message.readUInt16BE(6);
  let offset = 12;
  for (let i = 0; i < questions; i++) offset = readName(message, offset).next + 4;
  const records: SrvRecord[] = [];
  for (let i = 0; i < answers; i++) {
    offset = readName(message, offset).next;
    const type = message.readUInt16BE(offset);
    const rdLength = message.readUInt16BE(offset + 8);
    const rdata = offset + 10;
    if (rdata + rdLength > message.length) throw new RangeError('DNS record runs past the message');
    if (type === TYPE_SRV) {
      records.push({
        priority: message.readUInt16BE(rdata),
        weight: message.readUInt16BE(rdata + 2),
        port: message.readUInt16BE(rdata + 4),
        name: readName(message, rdata + 6).name,
      });
    }
    offset = rdata + rdLength;
  }
  return { rcode, truncated, records };
}

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address → host and port (53 by default). */
export function parseDnsServer(server: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(server);
  if (bracketed) return { host: bracketed[1] ?? '', port: bracketed[2] ? Number(bracketed[2]) : 53 };
  if (isIP(server) === 6) return { host: server, port: 53 };
  const [host = '', port] = server.split(':');
  return { host, port: port ? Number(port) : 53 };
}

/** One UDP exchange on a connected socket; datagrams that do not answer `query` are ignored. */
function queryUdp(query: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    let done = false;
    let peer: { address: string; port: number } | null = null;
    const timer = setTimeout(() => finish(new Error('ETIMEOUT')), timeoutMs);
    const finish = (err: Error | null, reply?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else if (reply) resolve(reply);
    };
    socket.on('error', (err) => finish(err));
    socket.on('message', (reply, from) => {
      // The kernel filters by source on a connected socket; checked here too, with the id and question.
      if (peer === null || from.address !== peer.address || from.port !== peer.port) return;
      if (!answersQuery(reply, query)) return;
      finish(null, reply);
    });
    socket.connect(port, host, () => {
      peer = socket.remoteAddress();
      socket.send(query, (err) => {
        if (err) finish(err);
      });
    });
  });
}

function queryTcp(query: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => finish(new Error('ETIMEOUT')), timeoutMs);
    const finish = (err: Error | null, reply?: Buffer): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else if (reply) resolve(reply);
    };
    socket.once('error', (err) => finish(err));
    socket.once('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0))
        finish(null, all.subarray(2, 2 + all.readUInt16BE(0)));
    });
  });
}

/**
 * Resolves SRV records by asking the given DNS servers (or the system's)
 * directly, each in turn until one answers. NXDOMAIN and "no SRV" are [].
 */
export async function resolveSrvOnTheWire(
  name: string,
  servers: readonly string[],
  timeoutMs: number,
): Promise<SrvRecord[]> {
  const targets = (servers.length > 0 ? servers : getServers()).map(parseDnsServer);
  let lastError: unknown = null;
  for (const { host, port } of targets) {
    // 16 bits from a CSPRNG: an off-path spoofer must guess it (with the source port, also random).
    const id = randomInt(0, 0x10000);
    const query = encodeSrvQuery(id, name);
    try {
      let response = decodeSrvResponse(await queryUdp(query, host, port, timeoutMs), id);
      if (response.truncated) {
        const reply = await queryTcp(query, host, port, timeoutMs);
        // Over TCP the one reply comes from the server we connected to; it must still answer our question.
        if (!answersQuery(reply, query)) throw new RangeError('DNS reply over TCP for another query');
        response = decodeSrvResponse(reply, id);
      }
      if (response.rcode === 0 || response.rcode === 3) return response.rcode === 3 ? [] : response.records;
      lastError = new Error(`DNS server ${host}:${port} answered rcode ${response.rcode}`);
    } catch (err) {
      lastError = err;
    }
  }
  const detail = lastError instanceof Error ? lastError.message : 'no DNS server';
  if (detail === 'ETIMEOUT')
    throw new DnsDiscoveryError('DNS_TIMEOUT', `DNS query for ${name} timed out`, name);
  throw new DnsDiscoveryError(
    'DNS_FAILED',
    `DNS query for ${name} failed: ${detail}`,
    name,
    lastError ?? undefined,
  );
}
