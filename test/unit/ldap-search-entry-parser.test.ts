import fc from 'fast-check';
import { BerReader, BerWriter, Client, type Entry, SearchEntry } from 'ldapts';
import { describe, expect, it } from 'vitest';
import {
  AttributeNames,
  CompactSearchEntry,
  installCompactSearchEntries,
} from '../../src/ldap/search-entry-parser.js';

type RawAttribute = { readonly type: string; readonly values: readonly Buffer[] | null };

/** The BER of a SearchResultEntry's content (what parseMessage reads), followed by `trailer`. */
function encode(dn: string, attributes: readonly RawAttribute[], trailer = Buffer.alloc(0)): Buffer {
  const writer = new BerWriter();
  writer.writeString(dn);
  writer.startSequence();
  for (const a of attributes) {
    writer.startSequence();
    writer.writeString(a.type);
    if (a.values !== null) {
      writer.startSequence(0x31);
      for (const v of a.values) writer.writeBuffer(v, 0x04);
      writer.endSequence();
    }
    writer.endSequence();
  }
  writer.endSequence();
  return Buffer.concat([writer.buffer, trailer]);
}

function both(
  bytes: Buffer,
  requested: string[],
  explicit: string[],
  size?: number,
  names = new AttributeNames(),
) {
  const readerA = new BerReader(bytes);
  const readerB = new BerReader(bytes);
  if (size !== undefined) {
    readerA.setBufferSize(size);
    readerB.setBufferSize(size);
  }
  const theirs = new SearchEntry({ messageId: 1 });
  theirs.parse(readerA, []);
  const ours = new CompactSearchEntry(1, new Set(explicit), names);
  ours.parse(readerB, []);
  expect(readerB.offset).toBe(readerA.offset);
  return { theirs: theirs.toObject(requested, explicit), ours: ours.toObject(requested, explicit) };
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const guid = Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex');

describe('CompactSearchEntry', () => {
  it('gives what ldapts gives for the usual shapes', () => {
    const bytes = encode('CN=Müller\\, Anna,OU=Staff,DC=corp,DC=test', [
      { type: 'objectGUID', values: [guid] },
      { type: 'cn', values: [utf8('Müller, Anna')] },
      { type: 'displayName', values: [utf8('Anna 😀 Müller')] },
      { type: 'mail', values: [utf8('anna@corp.test')] },
      { type: 'proxyAddresses', values: [utf8('SMTP:anna@corp.test'), utf8('smtp:a@corp.test'), utf8('')] },
      { type: 'member', values: [] },
      { type: 'description', values: null },
      { type: 'userCertificate;binary', values: [utf8('text but binary')] },
      // One value that is not UTF-8: every value of the attribute becomes a Buffer.
      { type: 'odd', values: [utf8('fine'), Buffer.from([0xc3, 0x28])] },
      // Bytes that happen to be valid UTF-8 in a binary attribute not asked as a buffer.
      { type: 'objectSid', values: [Buffer.from('01020304', 'hex')] },
      { type: 'long', values: [Buffer.alloc(300, 0x61), Buffer.alloc(70_000, 0x62)] },
      { type: 'dup', values: [utf8('first')] },
      { type: 'dup', values: [utf8('second')] },
    ]);
    const requested = ['objectGUID', 'CN', 'mail', 'sAMAccountName', 'member;range=0-1499', '*'];
    const { theirs, ours } = both(bytes, requested, ['objectGUID', 'objectguid']);
    expect(ours).toEqual(theirs);
    expect(Buffer.isBuffer(ours.objectGUID)).toBe(true);
    expect(ours.sAMAccountName).toEqual([]);
  });

  it('stops at the end of its message when more bytes follow', () => {
    const trailer = Buffer.from([0xa0, 0x03, 0x04, 0x01, 0x41]);
    const bytes = encode('cn=a', [{ type: 'cn', values: [utf8('a')] }], trailer);
    const { theirs, ours } = both(bytes, ['cn'], [], bytes.length - trailer.length);
    expect(ours).toEqual(theirs);
  });

  it('copies buffers instead of holding views of the socket chunk', () => {
    const bytes = encode('cn=a', [{ type: 'objectGUID', values: [guid] }]);
    const ours = new CompactSearchEntry(1, new Set(['objectGUID']));
    ours.parse(new BerReader(bytes), []);
    const value = ours.toObject([], ['objectGUID']).objectGUID as Buffer;
    expect(value.equals(guid)).toBe(true);
    bytes.fill(0);
    expect(value.equals(guid)).toBe(true);
  });

  it('refuses truncated input with an error instead of reading past the message', () => {
    const bytes = encode('cn=a', [{ type: 'cn', values: [utf8('abcdef')] }]);
    const ours = new CompactSearchEntry(1, new Set());
    expect(() => ours.parse(new BerReader(bytes.subarray(0, bytes.length - 3)), [])).toThrow(/malformed/);
  });

  it('agrees with ldapts on arbitrary attributes and bytes', () => {
    const value = fc.oneof(
      fc.string({ unit: 'binary' }).map(utf8),
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    );
    const attribute = fc.record({
      type: fc.constantFrom(
        'cn',
        'CN',
        'cN',
        'mail',
        'maiL',
        'sn',
        'Müll',
        'objectGUID',
        'member',
        'x;binary',
        'proxyAddresses',
      ),
      values: fc.option(fc.array(value, { maxLength: 4 }), { nil: null }),
    });
    // One name cache for every entry, as within one search: names change from entry to entry here.
    const names = new AttributeNames();
    fc.assert(
      fc.property(fc.string(), fc.array(attribute, { maxLength: 6 }), (dn, attributes) => {
        const { theirs, ours } = both(
          encode(dn, attributes),
          ['cn', 'sn', 'MAIL'],
          ['objectGUID'],
          undefined,
          names,
        );
        expect(ours).toEqual(theirs);
      }),
    );
  });
});

describe('CompactSearchEntry value bound', () => {
  const refuse = (attribute: string, dn: string) => new Error(`too many values of ${attribute} on ${dn}`);
  const values = (n: number) => Array.from({ length: n }, (_, i) => utf8(`v${i}`));

  it('reads an attribute with as many values as the bound', () => {
    const entry = new CompactSearchEntry(1, new Set(), new AttributeNames(), { max: 3, refuse });
    entry.parse(new BerReader(encode('cn=g', [{ type: 'member', values: values(3) }])), []);
    expect(entry.toObject([], [])).toEqual({ dn: 'cn=g', member: ['v0', 'v1', 'v2'] });
  });

  it('refuses one more, text or binary, naming the attribute and the entry', () => {
    const text = new CompactSearchEntry(1, new Set(), new AttributeNames(), { max: 3, refuse });
    expect(() =>
      text.parse(new BerReader(encode('cn=g', [{ type: 'member', values: values(4) }])), []),
    ).toThrow('too many values of member on cn=g');
    const binary = new CompactSearchEntry(1, new Set(['objectGUID']), new AttributeNames(), {
      max: 1,
      refuse,
    });
    expect(() =>
      binary.parse(new BerReader(encode('cn=g', [{ type: 'objectGUID', values: [guid, guid] }])), []),
    ).toThrow('too many values of objectGUID on cn=g');
  });
});

describe('installCompactSearchEntries', () => {
  it('finds the ldapts internals it hooks into', () => {
    const client = new Client({ url: 'ldap://127.0.0.1:1' });
    expect(installCompactSearchEntries(client)).toBe(true);
  });

  it('changes nothing on a client without them', () => {
    const entry: Entry = { dn: '' };
    expect(installCompactSearchEntries(entry as unknown as Client)).toBe(false);
  });
});
