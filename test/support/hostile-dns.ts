/**
 * A UDP DNS server on loopback that answers each SRV query first with forged
 * replies, as an off-path spoofer racing the real server would, and then
 * (unless told not to) with the right one a little later. A client that
 * takes the first datagram it gets takes the forged target.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/**
 * - `wrong-id`: our question, another id;
 * - `other-question`: our id, the question of another name;
 * - `other-port`: our id and question, sent from another socket (port);
 * - `not-a-reply`: our id and question, QR bit clear.
 */
export type ForgedReply = 'wrong-id' | 'other-question' | 'other-port' | 'not-a-reply';

export interface SrvTarget {
  readonly target: string;
  readonly port: number;
}

export interface HostileDnsOptions {
  readonly forged: readonly ForgedReply[];
  /** Carried by every forged reply. */
  readonly forgedTarget: SrvTarget;
  /** The true answer (one SRV record per target), sent `delayMs` after the forged ones; null: never. */
  readonly rightTarget: SrvTarget | readonly SrvTarget[] | null;
  readonly delayMs?: number;
}

export interface HostileDns {
  /** `127.0.0.1:PORT` */
  readonly server: string;
  /** Every query received, as sent. */
  readonly queries: Buffer[];
  close(): Promise<void>;
}

function encodeName(name: string): Buffer {
  const parts = name.split('.').map((label) => {
    const bytes = Buffer.from(label, 'ascii');
    return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  });
  return Buffer.concat([...parts, Buffer.from([0])]);
}

/** The question section of a query with one question (name, type, class). */
function questionOf(query: Buffer): Buffer {
  let offset = 12;
  while (query[offset] !== 0) offset += 1 + (query[offset] ?? 0);
  return query.subarray(12, offset + 5);
}

/** An SRV reply: header, `question` as given, one SRV answer per target, owned by the question's name. */
export function srvReply(
  id: number,
  question: Buffer,
  answers: SrvTarget | readonly SrvTarget[],
  flags = 0x8180,
): Buffer {
  const list: readonly SrvTarget[] = Array.isArray(answers) ? answers : [answers as SrvTarget];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(list.length, 6);
  return Buffer.concat([header, question, ...list.map(srvAnswer)]);
}

function srvAnswer(answer: SrvTarget): Buffer {
  const target = encodeName(answer.target);
  const fixed = Buffer.alloc(16);
  fixed.writeUInt16BE(0xc00c, 0); // the question's name
  fixed.writeUInt16BE(33, 2); // SRV
  fixed.writeUInt16BE(1, 4); // IN
  fixed.writeUInt32BE(60, 6); // TTL
  fixed.writeUInt16BE(6 + target.length, 10);
  fixed.writeUInt16BE(0, 12); // priority
  fixed.writeUInt16BE(100, 14); // weight
  const port = Buffer.alloc(2);
  port.writeUInt16BE(answer.port);
  return Buffer.concat([fixed, port, target]);
}

/** The query's question with its name in upper case: a reply may change the case (DNS 0x20). */
function upperCased(question: Buffer): Buffer {
  return Buffer.from(question.toString('latin1').toUpperCase(), 'latin1');
}

export async function hostileDnsServer(options: HostileDnsOptions): Promise<HostileDns> {
  const bind = async (): Promise<Socket> => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return socket;
  };
  const server = await bind();
  const other = await bind();
  const queries: Buffer[] = [];
  const timers = new Set<NodeJS.Timeout>();
  server.on('message', (query, peer) => {
    queries.push(Buffer.from(query));
    const id = query.readUInt16BE(0);
    const question = questionOf(query);
    const send = (socket: Socket, reply: Buffer): void => {
      socket.send(reply, peer.port, peer.address);
    };
    for (const kind of options.forged) {
      if (kind === 'wrong-id') send(server, srvReply(id ^ 0x5a5a, question, options.forgedTarget));
      if (kind === 'other-question') {
        const elsewhere = Buffer.concat([encodeName('_ldap._tcp.evil.example.net'), question.subarray(-4)]);
        send(server, srvReply(id, elsewhere, options.forgedTarget));
      }
      if (kind === 'other-port') send(other, srvReply(id, question, options.forgedTarget));
      if (kind === 'not-a-reply') send(server, srvReply(id, question, options.forgedTarget, 0x0100));
    }
    const right = options.rightTarget;
    if (right) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        send(server, srvReply(id, upperCased(question), right));
      }, options.delayMs ?? 30);
      timers.add(timer);
    }
  });
  const { port } = server.address() as AddressInfo;
  return {
    server: `127.0.0.1:${port}`,
    queries,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      await Promise.all([server, other].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
