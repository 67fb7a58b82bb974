/**
 * A reader of MIT keytab files, the format `ktutil`, `ktpass`, `msktutil`
 * and `samba-tool domain exportkeytab` write. An administrator uploads one
 * for a KERBEROS connection (#17); it is read here, before anything is
 * stored, so that an unusable file is refused at upload with a message
 * saying why (keytab-check.ts decides what is usable). The GSSAPI bind that
 * comes later hands the stored bytes to MIT krb5 itself; this module never
 * authenticates and never writes a file.
 *
 * The format (MIT's doc/formats/keytab_file_format.rst), version 2, all
 * integers big-endian:
 *   0x05 0x02, then entries until the end of the file;
 *   entry: int32 size, then `size` bytes (a negative size is a hole of
 *     -size bytes left by a deleted entry, skipped; 0 ends the file, as in
 *     MIT's reader, and so does a remainder too short for a size);
 *   entry body: uint16 component count, realm, components (each a uint16
 *     length and that many octets), uint32 name type, uint32 timestamp,
 *     uint8 kvno, keyblock (uint16 enctype, uint16 length, key octets), and
 *     an optional uint32 kvno, present when at least 4 bytes of the entry
 *     are left, which replaces the 8-bit one when non-zero (kvnos past 255).
 * Version 1 (0x05 0x01) wrote integers in the writing machine's native
 * order, counted the realm among the components and had no name type;
 * nothing has written it since krb5 1.0, and its byte order cannot be known
 * from the file, so it is refused with a message saying how to convert it.
 *
 * The bytes come from an API caller, so reading is bounded: the file at most
 * 1 MiB, at most 16 components, strings and keys at most 1 KiB each, every
 * field inside its entry's declared size, which is inside the file. Any
 * violation is a KeytabError, never a RangeError of a Buffer read (the unit
 * tests fuzz this). Key bytes live only inside a KeytabKey, which shows as
 * `[key: N bytes]` in JSON, String() and util.inspect, so they cannot leak
 * into a log line or an API response through a result or an error.
 */
import { inspect } from 'node:util';

/** The file as a whole may be at most this large. */
export const MAX_KEYTAB_BYTES = 1024 * 1024;
/** More components than this is no principal anyone uses (`a/b/c@R` has 3). */
export const MAX_PRINCIPAL_COMPONENTS = 16;
/** Realm, each component and each key at most this many bytes. */
export const MAX_KEYTAB_STRING_BYTES = 1024;

export type KeytabErrorCode =
  /** Not a keytab at all (another file uploaded, base64 of something else). */
  | 'KEYTAB_NOT_A_KEYTAB'
  /** A keytab of a version other than 2 (version 1, or unknown). */
  | 'KEYTAB_UNSUPPORTED_VERSION'
  | 'KEYTAB_TOO_LARGE'
  /** An entry (or hole) declares more bytes than the file has left. */
  | 'KEYTAB_TRUNCATED'
  /** A field runs past its entry, a count or length is out of bounds, a name is not UTF-8, a key has the wrong length. */
  | 'KEYTAB_CORRUPT'
  | 'KEYTAB_EMPTY'
  | 'KEYTAB_MIXED_REALMS'
  /** The keytab holds a key of krbtgt: the realm's own secret, exported with the whole domain. */
  | 'KEYTAB_HOLDS_KRBTGT'
  | 'KEYTAB_SEVERAL_PRINCIPALS'
  /** No key dirgate can use: only weak or unknown enctypes. */
  | 'KEYTAB_WEAK_ENCTYPES_ONLY'
  /** The principal's newest key version has no usable key (older ones do): the KDC uses the newest. */
  | 'KEYTAB_NO_KEY_FOR_CURRENT_KVNO';

/**
 * A keytab that cannot be used, with what is wrong and how to fix it. The
 * API edge turns it into BAD_USER_INPUT on `field` (`keytab`) with `code` as
 * the reason. Messages name principals, realms, kvnos and enctypes, never
 * key bytes.
 */
export class KeytabError extends Error {
  readonly field = 'keytab' as const;
  constructor(
    readonly code: KeytabErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'KeytabError';
  }
}

/** Key bytes that do not show themselves: JSON, String() and inspect print only their length. */
export class KeytabKey {
  readonly #bytes: Buffer;
  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }
  get length(): number {
    return this.#bytes.length;
  }
  /** A copy of the key, for the one caller that must hand it to Kerberos. */
  reveal(): Buffer {
    return Buffer.from(this.#bytes);
  }
  toString(): string {
    return `[key: ${this.#bytes.length} bytes]`;
  }
  toJSON(): string {
    return this.toString();
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

export interface KeytabPrincipal {
  readonly realm: string;
  readonly components: readonly string[];
  /** KRB5_NT_* (1 principal, 2 service instance, 3 service host, 10 enterprise…). */
  readonly nameType: number;
  /** `a/b@REALM` as MIT prints it (`/`, `@`, `\` and controls escaped inside components). */
  readonly name: string;
}

export interface KeytabEntry {
  readonly principal: KeytabPrincipal;
  /** When the key was written into the keytab. */
  readonly timestamp: Date;
  /** Key version: the 32-bit one when present and non-zero, else the 8-bit one. */
  readonly kvno: number;
  readonly enctype: number;
  readonly key: KeytabKey;
}

export interface Keytab {
  readonly version: 2;
  readonly entries: readonly KeytabEntry[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads the fields of one entry, never past `end`. */
class EntryReader {
  constructor(
    private readonly bytes: Buffer,
    private position: number,
    private readonly end: number,
    private readonly entryNumber: number,
  ) {}

  get remaining(): number {
    return this.end - this.position;
  }

  private take(count: number, what: string): number {
    if (count > this.remaining) {
      throw new KeytabError(
        'KEYTAB_CORRUPT',
        `the keytab is corrupt: entry ${this.entryNumber} ends inside its ${what}; export the keytab again`,
      );
    }
    const at = this.position;
    this.position += count;
    return at;
  }

  uint8(what: string): number {
    return this.bytes.readUInt8(this.take(1, what));
  }

  uint16(what: string): number {
    return this.bytes.readUInt16BE(this.take(2, what));
  }

  uint32(what: string): number {
    return this.bytes.readUInt32BE(this.take(4, what));
  }

  octets(what: string): Buffer {
    const length = this.uint16(`${what} length`);
    if (length > MAX_KEYTAB_STRING_BYTES) {
      throw new KeytabError(
        'KEYTAB_CORRUPT',
        `the keytab is corrupt: entry ${this.entryNumber} has a ${what} of ${length} bytes (at most ${MAX_KEYTAB_STRING_BYTES})`,
      );
    }
    const at = this.take(length, what);
    return this.bytes.subarray(at, at + length);
  }

  text(what: string): string {
    const raw = this.octets(what);
    try {
      return utf8.decode(raw);
    } catch {
      throw new KeytabError(
        'KEYTAB_CORRUPT',
        `the keytab is corrupt or not UTF-8: entry ${this.entryNumber} has a ${what} that is not UTF-8 text`,
      );
    }
  }
}

/** MIT's krb5_unparse_name quoting: the separators and controls inside a name part are escaped. */
function quote(part: string, separators: RegExp): string {
  return part.replace(separators, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\t':
        return '\\t';
      case '\b':
        return '\\b';
      case '\0':
        return '\\0';
      default:
        return `\\${c}`;
    }
  });
}

export function principalName(components: readonly string[], realm: string): string {
  const name = components.map((c) => quote(c, /[/@\\\n\t\b\0]/g)).join('/');
  return `${name}@${quote(realm, /[@\\\n\t\b\0]/g)}`;
}

function readEntry(bytes: Buffer, start: number, end: number, entryNumber: number): KeytabEntry {
  const reader = new EntryReader(bytes, start, end, entryNumber);
  const count = reader.uint16('component count');
  if (count === 0 || count > MAX_PRINCIPAL_COMPONENTS) {
    throw new KeytabError(
      'KEYTAB_CORRUPT',
      `the keytab is corrupt: entry ${entryNumber} has a principal of ${count} components (1 to ${MAX_PRINCIPAL_COMPONENTS})`,
    );
  }
  const realm = reader.text('realm');
  if (realm === '') {
    throw new KeytabError('KEYTAB_CORRUPT', `the keytab is corrupt: entry ${entryNumber} has an empty realm`);
  }
  const components: string[] = [];
  for (let i = 0; i < count; i++) components.push(reader.text('principal component'));
  const nameType = reader.uint32('name type');
  const timestamp = new Date(reader.uint32('timestamp') * 1000);
  const kvno8 = reader.uint8('key version');
  const enctype = reader.uint16('enctype');
  // A copy: the caller's buffer may be reused, and the key must not pin it.
  const key = new KeytabKey(Buffer.from(reader.octets('key')));
  const kvno32 = reader.remaining >= 4 ? reader.uint32('key version') : 0;
  return {
    principal: { realm, components, nameType, name: principalName(components, realm) },
    timestamp,
    kvno: kvno32 !== 0 ? kvno32 : kvno8,
    enctype,
    key,
  };
}

/** Parses a keytab file; throws KeytabError for anything that is not a readable version-2 keytab. */
export function parseKeytab(input: Uint8Array): Keytab {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length > MAX_KEYTAB_BYTES) {
    throw new KeytabError(
      'KEYTAB_TOO_LARGE',
      `the keytab is ${bytes.length} bytes, more than the ${MAX_KEYTAB_BYTES} accepted: export the service account's keys only`,
    );
  }
  if (bytes.length < 2 || bytes[0] !== 0x05) {
    throw new KeytabError(
      'KEYTAB_NOT_A_KEYTAB',
      'the keytab is not a keytab file (it must start with 0x05; was it base64-encoded once, from the file as written by ktutil, ktpass or samba-tool?)',
    );
  }
  if (bytes[1] === 0x01) {
    throw new KeytabError(
      'KEYTAB_UNSUPPORTED_VERSION',
      'the keytab is in format version 1 (0x0501), which is not supported: convert it with ktutil (rkt FILE, then wkt NEW) to version 2',
    );
  }
  if (bytes[1] !== 0x02) {
    throw new KeytabError(
      'KEYTAB_UNSUPPORTED_VERSION',
      `the keytab is in an unknown format version (0x05${bytes.readUInt8(1).toString(16).padStart(2, '0')}); only version 2 (0x0502) is supported`,
    );
  }

  const entries: KeytabEntry[] = [];
  let position = 2;
  // Records, entries and holes alike, for messages ("entry 3").
  let record = 0;
  while (bytes.length - position >= 4) {
    record++;
    const size = bytes.readInt32BE(position);
    position += 4;
    if (size === 0) break;
    // -2^31 has no positive counterpart; MIT refuses it the same way.
    if (size === -0x80000000) {
      throw new KeytabError(
        'KEYTAB_CORRUPT',
        `the keytab is corrupt: record ${record} has an impossible size`,
      );
    }
    const length = Math.abs(size);
    if (length > bytes.length - position) {
      throw new KeytabError(
        'KEYTAB_TRUNCATED',
        `the keytab is truncated: record ${record} (${size < 0 ? 'the hole of a deleted entry' : 'an entry'}) declares ${length} bytes but only ${bytes.length - position} are left; copy the file again, as binary`,
      );
    }
    if (size > 0) entries.push(readEntry(bytes, position, position + length, record));
    position += length;
  }
  return { version: 2, entries };
}
