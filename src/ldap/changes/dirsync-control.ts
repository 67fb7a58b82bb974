/**
 * The DirSync control (MS-ADTS 3.1.1.3.4.1.3, LDAP_SERVER_DIRSYNC_OID): the
 * request asks for what changed in a naming context since a cookie, the
 * response carries the next cookie. Its values are encoded and decoded here
 * by hand, byte for byte, because ldapts knows neither and its own BER
 * writer is not where a 32-bit flag word with the high bit set
 * (INCREMENTAL_VALUES, 0x80000000) may be trusted to come out as the signed
 * INTEGER AD expects (`02 04 80 00 00 00`).
 *
 *   request:  SEQUENCE { flags INTEGER, maxBytes INTEGER, cookie OCTET STRING }
 *   response: SEQUENCE { moreResults INTEGER, unused INTEGER, cookie OCTET STRING }
 *
 * The request control must be critical (Samba answers anything else with an
 * operations error). ldapts hands a response control it has no parser for to
 * the request control of the same OID (ControlParser's default branch), so
 * DirSyncControl, sent with a search, receives the response value itself.
 */
import { type BerReader, type BerWriter, Control } from 'ldapts';

export const DIRSYNC_OID = '1.2.840.113556.1.4.841';

/** Request flags (MS-ADTS 3.1.1.3.4.1.3), as unsigned 32-bit values. */
export const DirSyncFlags = {
  /** Return only what the account may read; without it the account needs "Replicating Directory Changes". */
  OBJECT_SECURITY: 0x1,
  /** Parents before children. */
  ANCESTORS_FIRST_ORDER: 0x800,
  /** No secret attributes (passwords) even where the account could read them. */
  PUBLIC_DATA_ONLY: 0x2000,
  /** Linked values (member) as the values added and removed, not the whole attribute. */
  INCREMENTAL_VALUES: 0x80000000,
} as const;

export interface DirSyncRequestValue {
  /** Unsigned 32-bit flag word (DirSyncFlags or-ed together with `>>> 0`). */
  readonly flags: number;
  /** Most bytes the server should return in one answer (AD caps it; Samba ignores it). Signed 32-bit. */
  readonly maxBytes: number;
  /** Empty for the first read (everything); then the cookie of the previous answer, as it came. */
  readonly cookie: Uint8Array;
}

export interface DirSyncResponseValue {
  /** The server has more changes than this answer held: ask again at once with `cookie`. */
  readonly moreResults: boolean;
  /** MS-ADTS: "unused"; kept for round trips. Signed 32-bit. */
  readonly unused: number;
  readonly cookie: Buffer;
}

/** A control value that is not the BER MS-ADTS describes. */
export class DirSyncFormatError extends Error {
  constructor(message: string) {
    super(`malformed DirSync control value: ${message}`);
    this.name = 'DirSyncFormatError';
  }
}

const TAG_INTEGER = 0x02;
const TAG_OCTET_STRING = 0x04;
const TAG_SEQUENCE = 0x30;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

// ---------------------------------------------------------------- encoding

/** BER definite length: short form below 128, else 0x80|n followed by n big-endian bytes. */
function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function element(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

/** A signed 32-bit value as a minimal two's-complement INTEGER (X.690 8.3). */
function encodeInt32(value: number, what: string): Buffer {
  if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    throw new RangeError(`${what} must be a signed 32-bit integer, got ${value}`);
  }
  const full = Buffer.alloc(4);
  full.writeInt32BE(value);
  // Drop leading bytes that only repeat the sign of the next one.
  let start = 0;
  while (
    start < 3 &&
    ((full[start] === 0x00 && ((full[start + 1] as number) & 0x80) === 0) ||
      (full[start] === 0xff && ((full[start + 1] as number) & 0x80) !== 0))
  ) {
    start++;
  }
  return element(TAG_INTEGER, full.subarray(start));
}

/** The flag word as AD reads it: the 32 bits as a signed INTEGER, so 0x80000000 is -2147483648. */
function flagsAsInt32(flags: number): number {
  if (!Number.isInteger(flags) || flags < INT32_MIN || flags > UINT32_MAX) {
    throw new RangeError(`DirSync flags must fit in 32 bits, got ${flags}`);
  }
  return flags | 0;
}

export function encodeDirSyncRequest(value: DirSyncRequestValue): Buffer {
  return element(
    TAG_SEQUENCE,
    Buffer.concat([
      encodeInt32(flagsAsInt32(value.flags), 'flags'),
      encodeInt32(value.maxBytes, 'maxBytes'),
      element(TAG_OCTET_STRING, Buffer.from(value.cookie)),
    ]),
  );
}

export function encodeDirSyncResponse(value: DirSyncResponseValue): Buffer {
  return element(
    TAG_SEQUENCE,
    Buffer.concat([
      encodeInt32(value.moreResults ? 1 : 0, 'moreResults'),
      encodeInt32(value.unused, 'unused'),
      element(TAG_OCTET_STRING, Buffer.from(value.cookie)),
    ]),
  );
}

// ---------------------------------------------------------------- decoding

interface Cursor {
  readonly bytes: Buffer;
  pos: number;
}

/** Reads one element's header at the cursor; returns its content's [start, end). */
function readHeader(c: Cursor, tag: number, limit: number, what: string): [number, number] {
  if (c.pos >= limit) throw new DirSyncFormatError(`${what} missing`);
  const found = c.bytes[c.pos] as number;
  if (found !== tag) {
    throw new DirSyncFormatError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${found.toString(16)}`);
  }
  c.pos++;
  if (c.pos >= limit) throw new DirSyncFormatError(`${what}: truncated length`);
  let length = c.bytes[c.pos++] as number;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw new DirSyncFormatError(`${what}: indefinite length`);
    if (count > 4) throw new DirSyncFormatError(`${what}: length of ${count} bytes`);
    if (c.pos + count > limit) throw new DirSyncFormatError(`${what}: truncated length`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (c.bytes[c.pos++] as number);
  }
  const end = c.pos + length;
  if (end > limit) throw new DirSyncFormatError(`${what}: longer than its container`);
  const start = c.pos;
  c.pos = end;
  return [start, end];
}

/** An INTEGER of up to 32 bits of magnitude (a server may pad a flag word to 5 bytes: `00 80 00 00 00`). */
function readInteger(c: Cursor, limit: number, what: string): number {
  const [start, end] = readHeader(c, TAG_INTEGER, limit, what);
  const length = end - start;
  if (length === 0) throw new DirSyncFormatError(`${what}: empty INTEGER`);
  if (length > 5) throw new DirSyncFormatError(`${what}: INTEGER of ${length} bytes`);
  let value = (c.bytes[start] as number) & 0x80 ? -1 : 0;
  for (let i = start; i < end; i++) value = value * 256 + (c.bytes[i] as number);
  if (value < INT32_MIN || value > UINT32_MAX)
    throw new DirSyncFormatError(`${what}: ${value} exceeds 32 bits`);
  return value;
}

function readInt32(c: Cursor, limit: number, what: string): number {
  const value = readInteger(c, limit, what);
  if (value > INT32_MAX) throw new DirSyncFormatError(`${what}: ${value} exceeds a signed 32-bit integer`);
  return value;
}

function readSequence(bytes: Uint8Array): { c: Cursor; end: number } {
  const c: Cursor = { bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), pos: 0 };
  const [start, end] = readHeader(c, TAG_SEQUENCE, c.bytes.length, 'SEQUENCE');
  if (end !== c.bytes.length) throw new DirSyncFormatError('bytes after the SEQUENCE');
  c.pos = start;
  return { c, end };
}

function readCookie(c: Cursor, limit: number): Buffer {
  const [start, end] = readHeader(c, TAG_OCTET_STRING, limit, 'cookie');
  // A copy: the value may be a view of a whole socket chunk, and a cookie is kept for a long time.
  return Buffer.from(c.bytes.subarray(start, end));
}

function finish(c: Cursor, end: number): void {
  if (c.pos !== end) throw new DirSyncFormatError('elements after the cookie');
}

export function decodeDirSyncRequest(bytes: Uint8Array): DirSyncRequestValue {
  const { c, end } = readSequence(bytes);
  const flags = readInteger(c, end, 'flags') >>> 0;
  const maxBytes = readInt32(c, end, 'maxBytes');
  const cookie = readCookie(c, end);
  finish(c, end);
  return { flags, maxBytes, cookie };
}

export function decodeDirSyncResponse(bytes: Uint8Array): DirSyncResponseValue {
  const { c, end } = readSequence(bytes);
  const moreResults = readInteger(c, end, 'moreResults') !== 0;
  const unused = readInt32(c, end, 'unused');
  const cookie = readCookie(c, end);
  finish(c, end);
  return { moreResults, unused, cookie };
}

// ---------------------------------------------------------------- the ldapts control

/**
 * The request control, sent critical, and the receiver of the response:
 * ldapts calls parseControl with a reader over the response control's value.
 * One instance per search.
 */
export class DirSyncControl extends Control {
  readonly request: DirSyncRequestValue;
  /** The response's value once the search is done; null before, or when the server sent none. */
  response: DirSyncResponseValue | null = null;
  /** Why the response's value could not be read, if it could not (parseControl must not throw into ldapts). */
  responseError: DirSyncFormatError | null = null;

  private readonly encoded: Buffer;

  constructor(request: DirSyncRequestValue) {
    super(DIRSYNC_OID, { critical: true });
    // Encoded now, so that bad flags fail here and not inside ldapts' message writer.
    this.encoded = encodeDirSyncRequest(request);
    this.request = request;
  }

  override writeControl(writer: BerWriter): void {
    writer.writeBuffer(this.encoded, TAG_OCTET_STRING);
  }

  override parseControl(reader: BerReader): void {
    try {
      this.response = decodeDirSyncResponse(reader.buffer);
      this.responseError = null;
    } catch (err) {
      this.response = null;
      this.responseError = err instanceof DirSyncFormatError ? err : new DirSyncFormatError(String(err));
    }
  }
}
