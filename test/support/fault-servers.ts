/**
 * Misbehaving peers for fault tests, all on loopback: LDAP "servers" that
 * accept a connection and then never answer, reset every connection, or
 * answer with bytes that are not LDAP; and a DNS server that swallows every
 * query. Plus a marker user that tests add to and remove from a real slapd
 * so that consecutive snapshots differ in a way a response can be checked
 * against.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import path from 'node:path';
import { entryToLdif } from '../../scripts/directories/ldif.js';
import { requireExecutable, run } from '../../scripts/directories/process.js';
import type { SlapdInstance } from '../../scripts/directories/slapd.js';

export interface FaultServer {
  /** `ldap://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Sockets still open on the server side. */
  open(): number;
  close(): Promise<void>;
}

type Behaviour = (socket: net.Socket) => void;

async function faultServer(behaviour: Behaviour): Promise<FaultServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    behaviour(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `ldap://127.0.0.1:${port}`,
    port,
    accepted: () => accepted,
    open: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Accepts, reads everything, never writes a byte. */
export function silentLdapServer(): Promise<FaultServer> {
  return faultServer((socket) => {
    socket.resume();
  });
}

export interface RecordingServer extends FaultServer {
  /** Every byte the server was sent, over all its connections, in order of arrival. */
  bytes(): Buffer;
}

/** Accepts, records every byte it is sent, never answers: shows what a client would have sent. */
export async function recordingLdapServer(): Promise<RecordingServer> {
  const received: Buffer[] = [];
  const server = await faultServer((socket) => {
    socket.on('data', (d: Buffer) => received.push(d));
  });
  return { ...server, bytes: () => Buffer.concat(received) };
}

/**
 * Answers the first LDAP message (the bind, or the RootDSE read of an
 * anonymous session) with a bind success, then never answers again: a
 * directory that hangs after the session is established.
 */
export function hangAfterBindLdapServer(): Promise<FaultServer> {
  return faultServer((socket) => {
    let answered = false;
    socket.on('data', (data) => {
      if (answered) return;
      answered = true;
      const messageId = data[4] ?? 1;
      // LDAPMessage { messageID, bindResponse [APPLICATION 1] { success, "", "" } }
      socket.write(
        Buffer.from([
          0x30,
          0x0c,
          0x02,
          0x01,
          messageId,
          0x61,
          0x07,
          0x0a,
          0x01,
          0x00,
          0x04,
          0x00,
          0x04,
          0x00,
        ]),
      );
    });
  });
}

/** Resets every connection as soon as it is accepted (TCP RST, not FIN). */
export function resettingLdapServer(): Promise<FaultServer> {
  return faultServer((socket) => {
    socket.resetAndDestroy();
  });
}

/** Resets a connection once the client has sent its first request. */
export function resetOnRequestLdapServer(): Promise<FaultServer> {
  return faultServer((socket) => {
    socket.once('data', () => socket.resetAndDestroy());
  });
}

/**
 * Answers every request with garbage: `kind: 'random'` random bytes, `'ber'`
 * a well-formed BER SEQUENCE that is not an LDAP message, `'huge'` a header
 * announcing a 2 GiB message followed by a trickle of bytes.
 */
export function garbageLdapServer(kind: 'random' | 'ber' | 'huge' = 'random'): Promise<FaultServer> {
  return faultServer((socket) => {
    socket.on('data', () => {
      if (kind === 'random') socket.write(randomBytes(512));
      else if (kind === 'ber') socket.write(Buffer.from([0x30, 0x06, 0x04, 0x01, 0x41, 0x04, 0x01, 0x42]));
      else socket.write(Buffer.concat([Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]), randomBytes(64)]));
    });
  });
}

export interface SilentDns {
  /** `127.0.0.1:PORT`, for DIRGATE_DNS_SERVERS. */
  readonly server: string;
  /** Queries received (and dropped) so far. */
  queries(): number;
  close(): Promise<void>;
}

/** A UDP DNS "server" that receives every query and answers none. */
export async function silentDnsServer(): Promise<SilentDns> {
  const socket = createSocket('udp4');
  let queries = 0;
  socket.on('message', () => {
    queries++;
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return {
    server: `127.0.0.1:${port}`,
    queries: () => queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/**
 * One extra user that tests add to and remove from a running slapd, so that
 * consecutive snapshots differ: with it the directory has one more user and
 * the address `address` resolves; without it, neither.
 */
export interface MarkerUser {
  readonly dn: string;
  readonly address: string;
  /** The autocomplete prefix that finds it (and nothing else). */
  readonly prefix: string;
  present(): boolean;
  add(): Promise<void>;
  remove(): Promise<void>;
  toggle(): Promise<void>;
}

export function markerUser(slapd: SlapdInstance, usersContainer: string, name = 'zqmarker'): MarkerUser {
  const dn = `cn=${name},${usersContainer}`;
  const address = `${name}@corp.test`;
  const auth = ['-x', '-H', slapd.url, '-D', slapd.admin.dn, '-w', slapd.admin.password];
  let present = false;
  const ldif = entryToLdif({
    dn,
    attributes: [
      ['objectClass', ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'user']],
      ['cn', [name]],
      ['sn', [name]],
      ['displayName', [name]],
      ['mail', [address]],
      ['uid', [name]],
      ['sAMAccountName', [name]],
      ['userPrincipalName', [address]],
      ['userAccountControl', ['512']],
      ['objectGUID', [randomBytes(16)]],
    ],
  });
  const file = path.join(slapd.dir, `${name}.ldif`);
  const marker: MarkerUser = {
    dn,
    address,
    prefix: name,
    present: () => present,
    async add() {
      await writeFile(file, ldif);
      await run(requireExecutable('ldapadd'), [...auth, '-f', file]);
      await rm(file, { force: true });
      present = true;
    },
    async remove() {
      await run(requireExecutable('ldapdelete'), [...auth, dn]);
      present = false;
    },
    toggle: () => (present ? marker.remove() : marker.add()),
  };
  return marker;
}
