/**
 * A minimal DNS client over UDP for SRV and A lookups against one server.
 *
 * Why not node:dns: Samba's internal DNS compresses the SRV target name
 * (RFC 2782 says it must not), and c-ares 1.34 in Node 24 rejects such an
 * answer with EBADRESP, while dig and Windows clients accept it. This parser
 * follows compression pointers anywhere.
 */

import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';

export interface SrvAnswer {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

const TYPE_A = 1;
const TYPE_SRV = 33;

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.');
  return Buffer.concat([
    ...parts.map((label) => Buffer.concat([Buffer.from([Buffer.byteLength(label)]), Buffer.from(label)])),
    Buffer.from([0]),
  ]);
}

/** Reads a possibly compressed name at `offset`; returns it and the offset after it in the record. */
function readName(message: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let position = offset;
  let next = -1;
  for (let jumps = 0; jumps < 64; jumps++) {
    const length = message.readUInt8(position);
    if (length === 0) {
      return { name: labels.join('.'), next: next === -1 ? position + 1 : next };
    }
    if ((length & 0xc0) === 0xc0) {
      if (next === -1) next = position + 2;
      position = message.readUInt16BE(position) & 0x3fff;
      continue;
    }
    labels.push(message.toString('utf8', position + 1, position + 1 + length));
    position += 1 + length;
  }
  throw new Error('DNS name compression loop');
}

interface ResourceRecord {
  readonly type: number;
  readonly dataOffset: number;
  readonly dataLength: number;
}

function parseAnswers(message: Buffer, id: number): ResourceRecord[] {
  if (message.readUInt16BE(0) !== id) throw new Error('DNS reply id mismatch');
  const flags = message.readUInt16BE(2);
  const rcode = flags & 0x0f;
  if (rcode === 3) return [];
  if (rcode !== 0) throw new Error(`DNS error rcode ${rcode}`);
  const questions = message.readUInt16BE(4);
  const answers = message.readUInt16BE(6);
  let offset = 12;
  for (let i = 0; i < questions; i++) offset = readName(message, offset).next + 4;
  const out: ResourceRecord[] = [];
  for (let i = 0; i < answers; i++) {
    offset = readName(message, offset).next;
    const type = message.readUInt16BE(offset);
    const dataLength = message.readUInt16BE(offset + 8);
    out.push({ type, dataOffset: offset + 10, dataLength });
    offset += 10 + dataLength;
  }
  return out;
}

/** Sends one query to `server` ("host:port") and returns the raw reply. */
function exchange(
  server: string,
  name: string,
  type: number,
  timeoutMs: number,
): Promise<{ reply: Buffer; id: number }> {
  const [host = '127.0.0.1', portText = '53'] = server.split(':');
  const id = randomInt(0, 0x10000);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // recursion desired
  header.writeUInt16BE(1, 4);
  const question = Buffer.concat([encodeName(name), Buffer.from([0, type, 0, 1])]);
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`DNS query ${name} to ${server} timed out`));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
    socket.on('message', (reply) => {
      if (reply.length < 12 || reply.readUInt16BE(0) !== id) return;
      clearTimeout(timer);
      socket.close();
      resolve({ reply, id });
    });
    socket.send(Buffer.concat([header, question]), Number(portText), host);
  });
}

/** SRV records of `name` as `server` answers them (empty when the name does not exist). */
export async function querySrv(server: string, name: string, timeoutMs = 2000): Promise<SrvAnswer[]> {
  const { reply, id } = await exchange(server, name, TYPE_SRV, timeoutMs);
  return parseAnswers(reply, id)
    .filter((record) => record.type === TYPE_SRV)
    .map((record) => ({
      priority: reply.readUInt16BE(record.dataOffset),
      weight: reply.readUInt16BE(record.dataOffset + 2),
      port: reply.readUInt16BE(record.dataOffset + 4),
      name: readName(reply, record.dataOffset + 6).name,
    }));
}

/** IPv4 addresses of `name` as `server` answers them. */
export async function queryA(server: string, name: string, timeoutMs = 2000): Promise<string[]> {
  const { reply, id } = await exchange(server, name, TYPE_A, timeoutMs);
  return parseAnswers(reply, id)
    .filter((record) => record.type === TYPE_A && record.dataLength === 4)
    .map((record) => [...reply.subarray(record.dataOffset, record.dataOffset + 4)].join('.'));
}
