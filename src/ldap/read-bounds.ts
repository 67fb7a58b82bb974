/**
 * Bounds on what one ldapts client accepts from its server, installed on
 * each of our connections (src/ldap/client.ts):
 *
 * - message size: ldapts concatenates socket data until a message is as
 *   long as its BER length field says, whatever that says (a 2 GiB length
 *   is buffered until memory runs out). Data is framed here instead: the
 *   length is read from the header, refused over maxMessageBytes before
 *   anything more is kept, and ldapts gets one whole message at a time;
 * - entries: each search entry and continuation reference is counted as it
 *   is parsed, against the run's EntryBudget (a page is only handed over at
 *   its end, which a server need not send);
 * - paging loops: a paged search answered with a cookie the server already
 *   sent in the same search would page forever.
 *
 * A refusal kills the connection; its pending operation ends with the
 * DirectoryLimitError (see ReadBounds.violation), never a hang.
 */
import { createHash } from 'node:crypto';
import { BindRequest, type Client, ExtendedRequest, PagedResultsControl, SearchRequest } from 'ldapts';
import { DirectoryLimitError } from './errors.js';
import { type EntryBudget, malformedMessage, messageTooLarge, pagingLoop } from './limits.js';
import type { ParserInternals as EntryParserInternals } from './search-entry-parser.js';
import type { ConnectionStep, LdapLimits } from './types.js';

const TAG_SEQUENCE = 0x30;
const SEARCH_ENTRY = 0x64;
const SEARCH_DONE = 0x65;
const SEARCH_REFERENCE = 0x73;

/** What the header at the start of buffered data says, once enough of it is there. */
export type FrameHeader =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'malformed'; readonly detail: string }
  | { readonly kind: 'message'; readonly headerBytes: number; readonly contentBytes: number };

/**
 * Reads an LDAPMessage header (SEQUENCE tag, BER definite length) from the
 * first bytes of the data. LDAP allows the definite form only (RFC 4511
 * 5.1); lengths of more than 4 bytes are read (and refused as too large by
 * the caller) rather than trusted.
 */
export function readFrameHeader(byteAt: (i: number) => number | undefined): FrameHeader {
  const tag = byteAt(0);
  const first = byteAt(1);
  if (tag === undefined || first === undefined) return { kind: 'incomplete' };
  if (tag !== TAG_SEQUENCE) return { kind: 'malformed', detail: `tag 0x${tag.toString(16)}` };
  if ((first & 0x80) === 0) return { kind: 'message', headerBytes: 2, contentBytes: first };
  const count = first & 0x7f;
  if (count === 0) return { kind: 'malformed', detail: 'indefinite length' };
  let length = 0;
  for (let i = 0; i < count; i++) {
    const byte = byteAt(2 + i);
    if (byte === undefined) return { kind: 'incomplete' };
    // A multiplication, not a shift: a shift is signed 32-bit and turns 2 GiB negative.
    length = length * 256 + byte;
  }
  return { kind: 'message', headerBytes: 2 + count, contentBytes: length };
}

/**
 * Cuts socket data into whole LDAP messages. Chunks are kept as they came
 * and joined once per message (ldapts joins all it has on every chunk,
 * quadratic in a message's size); a message over maxBytes is refused from
 * its header, and nothing is buffered after a refusal.
 */
export class MessageFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected: number | null = null;
  private stopped = false;

  constructor(
    private readonly maxBytes: number,
    private readonly deliver: (message: Buffer) => void,
    private readonly refuse: (reason: { readonly length: number } | { readonly detail: string }) => void,
  ) {}

  /** Bytes held for a message not yet complete (tests check a refusal keeps none). */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(data: Buffer): void {
    if (this.stopped || data.length === 0) return;
    this.chunks.push(data);
    this.buffered += data.length;
    while (!this.stopped) {
      if (this.expected === null) {
        const header = readFrameHeader((i) => this.byteAt(i));
        if (header.kind === 'incomplete') return;
        if (header.kind === 'malformed') {
          this.stop({ detail: header.detail });
          return;
        }
        if (header.contentBytes > this.maxBytes) {
          this.stop({ length: header.contentBytes });
          return;
        }
        this.expected = header.headerBytes + header.contentBytes;
      }
      if (this.buffered < this.expected) return;
      const message = this.take(this.expected);
      this.expected = null;
      this.deliver(message);
    }
  }

  /** Drops what is buffered and everything that comes later. */
  close(): void {
    this.stopped = true;
    this.chunks = [];
    this.buffered = 0;
    this.expected = null;
  }

  private stop(reason: { readonly length: number } | { readonly detail: string }): void {
    this.close();
    this.refuse(reason);
  }

  private byteAt(index: number): number | undefined {
    let i = index;
    for (const chunk of this.chunks) {
      if (i < chunk.length) return chunk[i];
      i -= chunk.length;
    }
    return undefined;
  }

  /** The first n buffered bytes, as a view when one chunk holds them, else one copy. */
  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
    } else {
      out = Buffer.allocUnsafe(n);
      let written = 0;
      while (written < n) {
        const chunk = this.chunks[0] as Buffer;
        const part = Math.min(chunk.length, n - written);
        chunk.copy(out, written, 0, part);
        written += part;
        if (part === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(part);
      }
      this.buffered -= n;
      return out;
    }
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}

/** The ldapts internals this hooks into (ldapts is pinned; a unit test checks they are there). */
interface ParserInternals extends EntryParserInternals {
  read: (data: Buffer, details: unknown) => void;
}

export interface ReadBoundsOptions {
  readonly limits: LdapLimits;
  /** The run's entries, shared by its connections. */
  readonly budget: EntryBudget;
  readonly server: string;
  /** Kills the connection's sockets: every pending operation then fails, and nothing more is read. */
  readonly onViolation: () => void;
}

/** One connection's bounds; `violation` says why it was killed, when a bound did. */
export class ReadBounds {
  private refused: DirectoryLimitError | null = null;

  constructor(
    private readonly onViolation: () => void,
    private readonly onStop: () => void,
  ) {}

  get violation(): DirectoryLimitError | null {
    return this.refused;
  }

  /** Records the first refusal, stops reading and kills the connection; returns the first refusal. */
  violate(error: DirectoryLimitError): DirectoryLimitError {
    if (this.refused === null) {
      this.refused = error;
      this.onStop();
      this.onViolation();
    }
    return this.refused;
  }
}

/** The step of the operation an answer would be for: the first one waiting (there is one, mostly). */
function pendingStep(pending: unknown): ConnectionStep {
  if (!(pending instanceof Map)) return 'SEARCH';
  for (const waiting of pending.values()) {
    const request = (waiting as { message?: unknown }).message;
    if (request instanceof BindRequest) return 'BIND';
    if (request instanceof ExtendedRequest) return 'TLS';
    return 'SEARCH';
  }
  return 'SEARCH';
}

/**
 * Installs the bounds on a client, after installCompactSearchEntries (it
 * wraps whatever parses messages then). Returns null when this ldapts lacks
 * the internals: the caller then refuses the connection, since reading
 * unbounded is what this prevents.
 */
export function installReadBounds(client: Client, options: ReadBoundsOptions): ReadBounds | null {
  const parser = (client as unknown as { messageParser?: Partial<ParserInternals> }).messageParser;
  const read = parser?.read;
  const parse = parser?._getMessageFromProtocolOperation;
  if (!parser || typeof read !== 'function' || typeof parse !== 'function') return null;
  const { limits, budget, server } = options;
  const cookies = new WeakMap<SearchRequest, PagedSearch>();

  // ldapts passes its map of operations waiting for an answer with every chunk.
  let pending: unknown;
  const framer = new MessageFramer(
    limits.maxMessageBytes,
    (message) => read.call(parser, message, pending),
    (reason) => {
      const step = pendingStep(pending);
      bounds.violate(
        'length' in reason
          ? messageTooLarge(reason.length, limits, step, server)
          : malformedMessage(reason.detail, step, server),
      );
    },
  );
  const bounds = new ReadBounds(options.onViolation, () => framer.close());
  parser.read = (data: Buffer, waiting: unknown): void => {
    pending = waiting;
    framer.push(data);
  };

  parser._getMessageFromProtocolOperation = function (
    this: unknown,
    messageId,
    protocolOperation,
    reader,
    request,
  ) {
    // Thrown here, a refusal rejects the operation the message answers (ldapts routes parse
    // errors by message id); the connection is killed too, so nothing more is read.
    try {
      if (protocolOperation === SEARCH_ENTRY || protocolOperation === SEARCH_REFERENCE) budget.take(server);
      const message = parse.call(this, messageId, protocolOperation, reader, request);
      if (protocolOperation === SEARCH_ENTRY && request instanceof SearchRequest) {
        notePageEntry(message, request, cookies);
      } else if (protocolOperation === SEARCH_DONE && request instanceof SearchRequest) {
        checkCookie(message, request, cookies, server);
      }
      return message;
    } catch (err) {
      if (isLimitError(err)) throw bounds.violate(err);
      throw err;
    }
  };
  return bounds;
}

function isLimitError(err: unknown): err is DirectoryLimitError {
  return err instanceof DirectoryLimitError;
}

/**
 * One paged search as its pages arrive: the cookies it was given (as digests, with the first
 * entry of the page each came with) and the page being read.
 */
interface PagedSearch {
  readonly seen: Map<string, string | null>;
  pages: number;
  pageEntries: number;
  pageFirstDn: string | null;
}

function pagedSearch(request: SearchRequest, cookies: WeakMap<SearchRequest, PagedSearch>): PagedSearch {
  let search = cookies.get(request);
  if (!search) {
    search = { seen: new Map(), pages: 0, pageEntries: 0, pageFirstDn: null };
    cookies.set(request, search);
  }
  return search;
}

function notePageEntry(
  message: unknown,
  request: SearchRequest,
  cookies: WeakMap<SearchRequest, PagedSearch>,
): void {
  const search = pagedSearch(request, cookies);
  if (search.pageEntries++ === 0) {
    const name = (message as { name?: unknown }).name;
    search.pageFirstDn = typeof name === 'string' ? name : null;
  }
}

/**
 * Refuses a page that made no progress under a cookie the same search already got: it brought
 * no entry, or began with the entry the page of that cookie began with, so the next page would
 * be one seen before. A repeated cookie alone is no loop: Samba sends one cookie (a handle) for
 * every page of a search. A server that invents new entries for ever is stopped by the entry
 * bound and the run's deadline instead.
 */
function checkCookie(
  message: unknown,
  request: SearchRequest,
  cookies: WeakMap<SearchRequest, PagedSearch>,
  server: string,
): void {
  const search = pagedSearch(request, cookies);
  const { pageEntries, pageFirstDn } = search;
  search.pageEntries = 0;
  search.pageFirstDn = null;
  const controls = (message as { controls?: unknown[] }).controls ?? [];
  const paged = controls.find((c): c is PagedResultsControl => c instanceof PagedResultsControl);
  const cookie = paged?.value?.cookie;
  if (!cookie || cookie.length === 0) return;
  search.pages++;
  // A digest, not the cookie: a server decides a cookie's size, and a run may page for long.
  const digest = createHash('sha256').update(cookie).digest('base64');
  if (search.seen.has(digest) && (pageEntries === 0 || search.seen.get(digest) === pageFirstDn)) {
    throw pagingLoop(search.pages, server);
  }
  search.seen.set(digest, pageFirstDn);
}
