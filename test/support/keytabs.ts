/**
 * Writes keytab files for tests, in MIT's format (version 2, big-endian;
 * src/ldap/kerberos/keytab.ts describes it), byte for byte as ktutil writes
 * them (the unit tests compare with a file of ktutil's), plus what ktutil
 * never writes on request: holes, entries without the 32-bit kvno, odd
 * sizes, version 1.
 */

/** Key length of each enctype the writer knows (18, aes256, is the default). */
const DEFAULT_KEY_BYTES: Readonly<Record<number, number>> = {
  1: 8,
  2: 8,
  3: 8,
  16: 24,
  17: 16,
  18: 32,
  19: 16,
  20: 32,
  23: 16,
  24: 16,
  25: 16,
  26: 32,
};

/** A key pattern easy to look for in output that must not contain it. */
export function testKey(length: number, seed = 0xd7): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (seed + i * 31) & 0xff));
}

export interface KeytabEntrySpec {
  /** `a/b@REALM` (no escapes); or give `components` and `realm`. */
  readonly principal?: string;
  readonly components?: readonly string[];
  readonly realm?: string;
  /** Default 1 (KRB5_NT_PRINCIPAL). */
  readonly nameType?: number;
  /** Seconds since 1970 (default 1_700_000_000). */
  readonly timestamp?: number;
  /** Default 1. Written as the 8-bit field (kvno & 0xff) and the 32-bit trailer. */
  readonly kvno?: number;
  /** Overrides the trailer: a number, or null for none (as pre-1.14 writers did). */
  readonly trailingKvno?: number | null;
  /** Default 18 (aes256-cts-hmac-sha1-96). */
  readonly enctype?: number;
  /** Default testKey() of the enctype's length. */
  readonly key?: Uint8Array;
  /** Bytes appended after the entry's fields, inside its declared size. */
  readonly padding?: number;
  /** Declared size instead of the real one (for corrupt files). */
  readonly sizeOverride?: number;
}

export type KeytabRecord = KeytabEntrySpec | { readonly hole: number };

function counted(bytes: Uint8Array): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

function int32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value, 0);
  return out;
}

function uint16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value, 0);
  return out;
}

function names(spec: KeytabEntrySpec): { components: readonly string[]; realm: string } {
  if (spec.components && spec.realm !== undefined) return { components: spec.components, realm: spec.realm };
  const principal = spec.principal ?? 'svc-dirgate@CORP.TEST';
  const at = principal.lastIndexOf('@');
  return { components: principal.slice(0, at).split('/'), realm: principal.slice(at + 1) };
}

export function entryBody(spec: KeytabEntrySpec): Buffer {
  const { components, realm } = names(spec);
  const kvno = spec.kvno ?? 1;
  const enctype = spec.enctype ?? 18;
  const key = spec.key ?? testKey(DEFAULT_KEY_BYTES[enctype] ?? 16);
  const trailer = spec.trailingKvno === undefined ? kvno : spec.trailingKvno;
  return Buffer.concat([
    uint16(components.length),
    counted(Buffer.from(realm, 'utf8')),
    ...components.map((c) => counted(Buffer.from(c, 'utf8'))),
    uint32(spec.nameType ?? 1),
    uint32(spec.timestamp ?? 1_700_000_000),
    Buffer.from([kvno & 0xff]),
    uint16(enctype),
    counted(key),
    trailer === null ? Buffer.alloc(0) : uint32(trailer),
    Buffer.alloc(spec.padding ?? 0),
  ]);
}

/** A version-2 keytab of these entries and holes, in order. */
export function writeKeytab(records: readonly KeytabRecord[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x05, 0x02])];
  for (const record of records) {
    if ('hole' in record) {
      parts.push(int32(-record.hole), Buffer.alloc(record.hole));
      continue;
    }
    const body = entryBody(record);
    parts.push(int32(record.sizeOverride ?? body.length), body);
  }
  return Buffer.concat(parts);
}

/** A version-1 keytab (native little-endian here, the realm counted among the components, no name type). */
export function writeVersion1Keytab(spec: KeytabEntrySpec): Buffer {
  const { components, realm } = names(spec);
  const le16 = (v: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v, 0);
    return b;
  };
  const countedLe = (b: Buffer) => Buffer.concat([le16(b.length), b]);
  const ts = Buffer.alloc(4);
  ts.writeUInt32LE(spec.timestamp ?? 1_700_000_000, 0);
  const body = Buffer.concat([
    le16(components.length + 1),
    countedLe(Buffer.from(realm)),
    ...components.map((c) => countedLe(Buffer.from(c))),
    ts,
    Buffer.from([spec.kvno ?? 1]),
    le16(spec.enctype ?? 18),
    countedLe(Buffer.from(spec.key ?? testKey(32))),
  ]);
  const size = Buffer.alloc(4);
  size.writeInt32LE(body.length, 0);
  return Buffer.concat([Buffer.from([0x05, 0x01]), size, body]);
}
