/**
 * A hostile LDAP server on loopback for the directory-bounds tests: it
 * speaks enough LDAP (anonymous bind, the RootDSE, paged subtree searches
 * with the paged-results control, base-scope range reads) to be synced
 * from, and its `mode` decides what the next searches get: a small good
 * directory, or one of the answers the gateway must survive (a cookie
 * repeated for ever, a 2 GiB length header, more entries or more values
 * than the bounds, a range retrieval that never ends, pages that trickle
 * for ever).
 */
import * as net from 'node:net';

// --- BER, as much as LDAP needs --------------------------------------------------------------

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

function integer(tag: number, n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v >>= 8;
  } while (v > 0);
  if ((bytes[0] as number) & 0x80) bytes.unshift(0);
  return tlv(tag, Buffer.from(bytes));
}

const int = (n: number): Buffer => integer(0x02, n);
const enumerated = (n: number): Buffer => integer(0x0a, n);
const octets = (value: string | Buffer): Buffer =>
  tlv(0x04, typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
const sequence = (...content: Buffer[]): Buffer => tlv(0x30, ...content);
const set = (...content: Buffer[]): Buffer => tlv(0x31, ...content);

const PAGED_RESULTS_OID = '1.2.840.113556.1.4.319';
const AD_CAPABILITY_OID = '1.2.840.113556.1.4.800';

type Attributes = Record<string, readonly (string | Buffer)[]>;

function message(messageId: number, operation: Buffer, controls?: Buffer): Buffer {
  return sequence(int(messageId), operation, ...(controls ? [controls] : []));
}

function bindResponse(messageId: number): Buffer {
  return message(messageId, tlv(0x61, enumerated(0), octets(''), octets('')));
}

export function searchEntry(messageId: number, dn: string, attributes: Attributes): Buffer {
  const list = Object.entries(attributes).map(([name, values]) =>
    sequence(octets(name), set(...values.map((v) => octets(v)))),
  );
  return message(messageId, tlv(0x64, octets(dn), sequence(...list)));
}

function searchDone(messageId: number, cookie: string | null): Buffer {
  const controls =
    cookie === null
      ? undefined
      : tlv(0xa0, sequence(octets(PAGED_RESULTS_OID), octets(sequence(int(0), octets(cookie)))));
  return message(messageId, tlv(0x65, enumerated(0), octets(''), octets('')), controls);
}

// --- Reading requests ------------------------------------------------------------------------

interface Element {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

/** The element at pos, or null when the buffer does not hold all of it yet. */
function element(buffer: Buffer, pos: number): Element | null {
  if (pos + 2 > buffer.length) return null;
  const tag = buffer[pos] as number;
  let len = buffer[pos + 1] as number;
  let start = pos + 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    if (start + count > buffer.length) return null;
    len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + (buffer[start + i] as number);
    start += count;
  }
  if (start + len > buffer.length) return null;
  return { tag, start, end: start + len };
}

function children(buffer: Buffer, parent: Element): Element[] {
  const out: Element[] = [];
  for (let pos = parent.start; pos < parent.end; ) {
    const child = element(buffer, pos);
    if (!child) break;
    out.push(child);
    pos = child.end;
  }
  return out;
}

export interface SearchRequest {
  readonly messageId: number;
  readonly base: string;
  readonly scope: number;
  /** The filter and attributes as text, lower-cased: enough to tell what is asked. */
  readonly text: string;
}

export type Kind = 'USER' | 'GROUP' | 'CONTACT';

function kindOf(request: SearchRequest): Kind | null {
  if (request.text.includes('person')) return 'USER';
  if (request.text.includes('group')) return 'GROUP';
  if (request.text.includes('contact')) return 'CONTACT';
  return null;
}

// --- The server ------------------------------------------------------------------------------

export type HostileMode =
  /** A small directory answered well: 3 users and a group of 2. */
  | { readonly kind: 'good' }
  /** Every page of the user search carries the same cookie: a client that follows pages for ever. */
  | { readonly kind: 'repeat-cookie' }
  /** As Samba pages: one cookie (a handle) for every page, each page the next user, the last without. */
  | { readonly kind: 'one-cookie' }
  /** The user search is answered by a header announcing a 2 GiB message, then a trickle. */
  | { readonly kind: 'huge-length'; readonly bytes: number }
  /** The user search sends this many entries in one page. */
  | { readonly kind: 'many-entries'; readonly count: number }
  /** The group's `member` attribute has this many values, in one entry. */
  | { readonly kind: 'many-values'; readonly count: number }
  /** Poses as AD: the group's members come by range retrieval, chunk after chunk, never ending. */
  | { readonly kind: 'endless-range'; readonly chunk: number }
  /** The user search sends one new entry with a new cookie every `delayMs`, for ever. */
  | { readonly kind: 'trickle'; readonly delayMs: number };

export interface HostileLdapServer {
  /** `ldap://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly baseDn: string;
  /** What the next searches get. */
  mode: HostileMode;
  /** User-search pages answered since the server started. */
  pagesSent(): number;
  close(): Promise<void>;
}

const BASE_DN = 'dc=hostile,dc=test';
const GOOD_USERS = ['ann', 'bob', 'cid'];

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

function guid(n: number): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32BE(n, 12);
  bytes[0] = 0x11;
  return bytes;
}

function userDn(name: string): string {
  return `uid=${name},ou=people,${BASE_DN}`;
}

export async function hostileLdapServer(): Promise<HostileLdapServer> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let pages = 0;
  /** The next page of a 'one-cookie' search. */
  let oneCookiePage = 0;
  const state: { mode: HostileMode } = { mode: { kind: 'good' } };

  const ad = (): boolean => state.mode.kind === 'endless-range';

  /** The id attribute of entry n: entryUUID as LDAP, objectGUID when posing as AD. */
  const idOf = (n: number): Attributes => (ad() ? { objectGUID: [guid(n)] } : { entryUUID: [uuid(n)] });

  const user = (messageId: number, n: number, name: string): Buffer =>
    searchEntry(messageId, userDn(name), {
      ...idOf(n),
      cn: [name],
      mail: [`${name}@hostile.test`],
    });

  const rootDse = (request: SearchRequest, socket: net.Socket): void => {
    const attributes: Attributes = { namingContexts: [BASE_DN] };
    if (ad()) {
      attributes.supportedCapabilities = [AD_CAPABILITY_OID];
      attributes.defaultNamingContext = [BASE_DN];
    }
    socket.write(searchEntry(request.messageId, '', attributes));
    socket.write(searchDone(request.messageId, null));
  };

  const users = (request: SearchRequest, socket: net.Socket): void => {
    const id = request.messageId;
    const mode = state.mode;
    pages++;
    switch (mode.kind) {
      case 'repeat-cookie':
        socket.write(user(id, 1, 'ann'));
        socket.write(searchDone(id, 'the-same-cookie'));
        return;
      case 'huge-length': {
        // 0x84: four length bytes, 0x80000000 = 2 GiB; then a trickle that never completes it.
        socket.write(Buffer.from([0x30, 0x84, 0x80, 0x00, 0x00, 0x00, 0x02, 0x01, id & 0x7f]));
        let sent = 0;
        const trickle = setInterval(() => {
          if (socket.destroyed || sent >= mode.bytes) {
            clearInterval(trickle);
            timers.delete(trickle);
            return;
          }
          sent += 1024;
          socket.write(Buffer.alloc(1024, 0x41));
        }, 20);
        timers.add(trickle);
        return;
      }
      case 'one-cookie': {
        const n = oneCookiePage++;
        socket.write(user(id, n + 1, GOOD_USERS[n] ?? `user${n}`));
        const last = n + 1 >= GOOD_USERS.length;
        if (last) oneCookiePage = 0;
        socket.write(searchDone(id, last ? null : 'one-handle'));
        return;
      }
      case 'many-entries':
        for (let n = 0; n < mode.count; n++) socket.write(user(id, 1000 + n, `user${n}`));
        socket.write(searchDone(id, null));
        return;
      case 'trickle': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (socket.destroyed) return;
          socket.write(user(id, 5000 + pages, `slow${pages}`));
          socket.write(searchDone(id, `page-${pages}`));
        }, mode.delayMs);
        timers.add(timer);
        return;
      }
      default:
        GOOD_USERS.forEach((name, n) => {
          socket.write(user(id, n + 1, name));
        });
        socket.write(searchDone(id, null));
    }
  };

  const groupDn = `cn=staff,ou=groups,${BASE_DN}`;
  const members = (from: number, count: number): string[] =>
    Array.from({ length: count }, (_, i) => `uid=member${from + i},ou=people,${BASE_DN}`);

  const groups = (request: SearchRequest, socket: net.Socket): void => {
    const id = request.messageId;
    const mode = state.mode;
    const attributes: Attributes = { ...idOf(100), cn: ['staff'] };
    if (mode.kind === 'many-values') attributes.member = members(0, mode.count);
    else if (mode.kind === 'endless-range')
      attributes[`member;range=0-${mode.chunk - 1}`] = members(0, mode.chunk);
    else attributes.member = [userDn('ann'), userDn('bob')];
    socket.write(searchEntry(id, groupDn, attributes));
    socket.write(searchDone(id, null));
  };

  /** A base-scope read of the group asking `member;range=S-E`: the next chunk, which is never the last. */
  const range = (request: SearchRequest, socket: net.Socket): void => {
    const id = request.messageId;
    const mode = state.mode;
    const asked = /member;range=(\d+)-/.exec(request.text);
    if (mode.kind !== 'endless-range' || !asked) {
      socket.write(searchDone(id, null));
      return;
    }
    const start = Number(asked[1]);
    socket.write(
      searchEntry(id, groupDn, {
        [`member;range=${start}-${start + mode.chunk - 1}`]: members(start, mode.chunk),
      }),
    );
    socket.write(searchDone(id, null));
  };

  const answer = (buffer: Buffer, whole: Element, socket: net.Socket): void => {
    const [idElement, op] = children(buffer, whole);
    if (!idElement || !op) return;
    let messageId = 0;
    for (let i = idElement.start; i < idElement.end; i++) messageId = messageId * 256 + (buffer[i] as number);
    if (op.tag === 0x60) {
      socket.write(bindResponse(messageId));
      return;
    }
    if (op.tag === 0x42) {
      socket.end();
      return;
    }
    if (op.tag !== 0x63) return;
    const [base, scope] = children(buffer, op);
    if (!base || !scope) return;
    const request: SearchRequest = {
      messageId,
      base: buffer.toString('utf8', base.start, base.end),
      scope: buffer[scope.start] as number,
      text: buffer.toString('latin1', scope.end, op.end).toLowerCase(),
    };
    const kind = kindOf(request);
    if (request.scope === 0 && request.base === '') rootDse(request, socket);
    else if (request.scope === 0) range(request, socket);
    else if (kind === 'USER') users(request, socket);
    else if (kind === 'GROUP') groups(request, socket);
    else socket.write(searchDone(messageId, null));
  };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const whole = element(pending, 0);
        if (!whole) return;
        answer(pending, whole, socket);
        pending = pending.subarray(whole.end);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `ldap://127.0.0.1:${port}`,
    port,
    baseDn: BASE_DN,
    get mode() {
      return state.mode;
    },
    set mode(next: HostileMode) {
      state.mode = next;
    },
    pagesSent: () => pages,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
