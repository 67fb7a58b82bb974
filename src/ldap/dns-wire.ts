/**
 * A minimal DNS SRV client on the wire, used only when Node's resolver
 * rejects a valid answer. Samba's internal DNS (an AD DC's own DNS) writes
 * SRV targets with name compression (`dc1` + a pointer to `corp.test`), and
 * c-ares 1.34.x (Node 24) answers such replies with EBADRESP
 * (nodejs/node#66173). RFC 2782 says the target should not be compressed,
 * but the DCs exist, so we read them: one UDP query without EDNS (Samba does
 * not answer EDNS queries here), TCP when the reply is truncated.
 */
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

function queryUdp(query: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(new Error('ETIMEOUT')), timeoutMs);
    const finish = (err: Error | null, reply?: Buffer): void => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else if (reply) resolve(reply);
    };
    socket.once('error', (err) => finish(err));
    socket.once('message', (reply) => finish(null, reply));
    socket.send(query, port, host);
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
    const id = Math.floor(Math.random() * 0xffff);
    const query = encodeSrvQuery(id, name);
    try {
      let response = decodeSrvResponse(await queryUdp(query, host, port, timeoutMs), id);
      if (response.truncated) response = decodeSrvResponse(await queryTcp(query, host, port, timeoutMs), id);
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
