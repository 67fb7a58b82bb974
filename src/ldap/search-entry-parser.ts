/**
 * A faster way for ldapts to read search result entries, installed on our
 * own connections only. A full sync reads a few million attribute values;
 * ldapts makes a Buffer view of every value, decodes it through a fatal
 * TextDecoder, keeps both, and converts the whole entry again in
 * toObject(), a large share of a sync's CPU time and of its garbage
 * (docs/performance.md).
 *
 * CompactSearchEntry reads the same BER and produces exactly what ldapts'
 * toObject() returns (the unit tests compare both on the same bytes):
 *  - a value is a string when it is valid UTF-8, else a Buffer; when one
 *    value of an attribute is not text, or the attribute is in
 *    explicitBufferAttributes (exact spelling, as ldapts matches it) or has
 *    the `;binary` option, all its values are Buffers;
 *  - one value as itself, several as an array, none as `[]`;
 *  - every requested attribute the server did not return, as `[]`.
 * Differences that no caller can see: strings are decoded straight from the
 * socket's buffer (ASCII without a validation pass), Buffers are copies
 * (ldapts' views keep a whole socket chunk alive for a 16-byte objectGUID), and the per-value Attribute objects are never made.
 */
import { isUtf8 } from 'node:buffer';
import { type BerReader, type Client, type Entry, SearchEntry, SearchRequest } from 'ldapts';
import { perName } from './per-name.js';

const TAG_OCTET_STRING = 0x04;
const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;
const SEARCH_ENTRY_OPERATION = 0x64;

/** Attribute names lower-cased as ldapts does (toLocaleLowerCase), once per name. */
const localeLowerCased = perName((name) => name.toLocaleLowerCase());

class BerFormatError extends Error {
  constructor(message: string) {
    super(`malformed search entry: ${message}`);
    this.name = 'InvalidAsn1Error';
  }
}

interface Cursor {
  readonly buffer: Buffer;
  pos: number;
}

/** Reads the tag and length at the cursor; returns the end of the element's content. */
function header(c: Cursor, tag: number, limit: number): number {
  const { buffer } = c;
  if (c.pos + 2 > limit) throw new BerFormatError('truncated');
  const found = buffer[c.pos] as number;
  if (found !== tag) throw new BerFormatError(`expected 0x${tag.toString(16)}, got 0x${found.toString(16)}`);
  let length = buffer[c.pos + 1] as number;
  c.pos += 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4) throw new BerFormatError('unsupported length');
    if (c.pos + bytes > limit) throw new BerFormatError('truncated');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + (buffer[c.pos + i] as number);
    c.pos += bytes;
  }
  const end = c.pos + length;
  if (end > limit) throw new BerFormatError('element longer than its container');
  return end;
}

/** The text of bytes [start, end), or null when they are not valid UTF-8. */
function text(buffer: Buffer, start: number, end: number): string | null {
  for (let i = start; i < end; i++) {
    if ((buffer[i] as number) > 0x7f) {
      return isUtf8(buffer.subarray(start, end)) ? buffer.toString('utf8', start, end) : null;
    }
  }
  return buffer.toString('latin1', start, end);
}

const BINARY_OPTION = /;binary$/i;

/**
 * Attribute names of one search's entries. A server sends them in the same
 * order with the same spelling entry after entry: the name at each position
 * is compared with the bytes of the last one seen there and decoded only
 * when it differs, instead of one new string per attribute per entry.
 */
export class AttributeNames {
  private readonly bytes: Buffer[] = [];
  private readonly names: string[] = [];

  name(index: number, buffer: Buffer, start: number, end: number): string {
    const known = this.bytes[index];
    if (known !== undefined && known.length === end - start) {
      let same = true;
      for (let i = 0; i < known.length; i++) {
        if (known[i] !== buffer[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.names[index] as string;
    }
    const name = buffer.toString('utf8', start, end);
    if (index < 64) {
      this.bytes[index] = Buffer.from(buffer.subarray(start, end));
      this.names[index] = name;
    }
    return name;
  }
}

/** How many values one attribute may have, and the error past that (src/ldap/limits.ts). */
export interface ValueBound {
  readonly max: number;
  readonly refuse: (attribute: string, dn: string) => Error;
}

const UNBOUNDED: ValueBound = { max: Number.POSITIVE_INFINITY, refuse: () => new Error('unreachable') };

export class CompactSearchEntry extends SearchEntry {
  private entry: Entry = { dn: '' };

  constructor(
    messageId: number,
    private readonly bufferAttributes: ReadonlySet<string>,
    private readonly names: AttributeNames = new AttributeNames(),
    private readonly valueBound: ValueBound = UNBOUNDED,
  ) {
    super({ messageId });
  }

  override parseMessage(reader: BerReader): void {
    const c: Cursor = { buffer: reader.buffer, pos: reader.offset };
    // The message's own bounds: the reader may sit on a buffer holding the next messages too.
    const limit = reader.offset + reader.remain;
    const dnEnd = header(c, TAG_OCTET_STRING, limit);
    const dn = c.buffer.toString('utf8', c.pos, dnEnd);
    // As ldapts's own entry has it: the read bounds tell one page from another by its first DN.
    this.name = dn;
    c.pos = dnEnd;
    const entry: Entry = { dn };
    const listEnd = header(c, TAG_SEQUENCE, limit);
    for (let index = 0; c.pos < listEnd; index++) {
      const attributeEnd = header(c, TAG_SEQUENCE, listEnd);
      const typeEnd = header(c, TAG_OCTET_STRING, attributeEnd);
      const type = this.names.name(index, c.buffer, c.pos, typeEnd);
      c.pos = typeEnd;
      let value: Entry[string] = [];
      if (c.pos < attributeEnd && c.buffer[c.pos] === TAG_SET) {
        const setEnd = header(c, TAG_SET, attributeEnd);
        const setStart = c.pos;
        let binary = this.bufferAttributes.has(type) || BINARY_OPTION.test(type);
        if (!binary) {
          // One value as itself, a list from the second on: most attributes have one value.
          let first: string | null = null;
          let list: string[] | null = null;
          let count = 0;
          while (c.pos < setEnd) {
            // Refused before the value is decoded: the bound is on what is kept.
            if (++count > this.valueBound.max) throw this.valueBound.refuse(type, dn);
            const valueEnd = header(c, TAG_OCTET_STRING, setEnd);
            const decoded = text(c.buffer, c.pos, valueEnd);
            c.pos = valueEnd;
            // One value that is not text: ldapts hands every value of the attribute as a Buffer.
            if (decoded === null) {
              binary = true;
              break;
            }
            if (first === null) first = decoded;
            else if (list === null) list = [first, decoded];
            else list.push(decoded);
          }
          if (!binary) value = list ?? first ?? [];
        }
        if (binary) {
          c.pos = setStart;
          const buffers: Buffer[] = [];
          while (c.pos < setEnd) {
            if (buffers.length >= this.valueBound.max) throw this.valueBound.refuse(type, dn);
            const valueEnd = header(c, TAG_OCTET_STRING, setEnd);
            buffers.push(Buffer.from(c.buffer.subarray(c.pos, valueEnd)));
            c.pos = valueEnd;
          }
          value = buffers.length === 1 ? (buffers[0] as Buffer) : buffers;
        }
      }
      c.pos = attributeEnd;
      // A later attribute of the same spelling replaces the earlier one, as in ldapts.
      entry[type] = value;
    }
    c.pos = listEnd;
    reader.offset = c.pos;
    this.entry = entry;
  }

  override toObject(requestAttributes: string[], _explicitBufferAttributes: string[]): Entry {
    const entry = this.entry;
    // As ldapts: a requested attribute the entry lacks in any spelling comes back as []. Nearly
    // every entry lacks one (objectGUID or entryUUID, member on users…), so this runs per entry:
    // names are lower-cased once per process, not once per entry, and no Set is built.
    let keys: string[] | null = null;
    for (const attribute of requestAttributes) {
      if (entry[attribute] !== undefined) continue;
      keys ??= Object.keys(entry);
      const wanted = localeLowerCased(attribute);
      if (!keys.some((k) => localeLowerCased(k) === wanted)) entry[attribute] = [];
    }
    return entry;
  }
}

/** The ldapts internals this hooks into (ldapts is pinned; install checks they are there). */
export interface ParserInternals {
  _getMessageFromProtocolOperation: (
    messageId: number,
    protocolOperation: number,
    reader: BerReader,
    messageDetails: unknown,
  ) => unknown;
}

/**
 * Makes the client read search entries with CompactSearchEntry, each
 * attribute's values bounded. Returns false (and changes nothing) when this
 * ldapts does not have the expected internals: everything then works as
 * before, only slower.
 */
export function installCompactSearchEntries(client: Client, valueBound: ValueBound = UNBOUNDED): boolean {
  const parser = (client as unknown as { messageParser?: Partial<ParserInternals> }).messageParser;
  const original = parser?._getMessageFromProtocolOperation;
  if (!parser || typeof original !== 'function') return false;
  const cache = new WeakMap<SearchRequest, { buffers: ReadonlySet<string>; names: AttributeNames }>();
  parser._getMessageFromProtocolOperation = function (
    this: unknown,
    messageId,
    protocolOperation,
    reader,
    details,
  ) {
    if (protocolOperation !== SEARCH_ENTRY_OPERATION)
      return original.call(this, messageId, protocolOperation, reader, details);
    const request = details instanceof SearchRequest ? details : null;
    let perSearch = request ? cache.get(request) : undefined;
    if (!perSearch) {
      perSearch = { buffers: new Set(request?.explicitBufferAttributes ?? []), names: new AttributeNames() };
      if (request) cache.set(request, perSearch);
    }
    const message = new CompactSearchEntry(messageId, perSearch.buffers, perSearch.names, valueBound);
    message.parse(reader, request?.controls ?? []);
    return message;
  };
  return true;
}
