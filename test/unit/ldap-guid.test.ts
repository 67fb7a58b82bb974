import { describe, expect, it } from 'vitest';
import { decodeObjectGuid, guidToBytes, guidToString, normalizeEntryUuid } from '../../src/ldap/guid.js';

const AD_BYTES = Buffer.from([
  0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
]);
const AD_TEXT = '76543210-ba98-fedc-0123-456789abcdef';

describe('objectGUID', () => {
  it('renders the AD string form (first three groups byte-reversed)', () => {
    expect(guidToString(AD_BYTES)).toBe(AD_TEXT);
  });

  it('does not modify the buffer it was given (subarray shares memory)', () => {
    const copy = Buffer.from(AD_BYTES);
    guidToString(copy);
    expect(copy.equals(AD_BYTES)).toBe(true);
  });

  it('round-trips text → bytes → text', () => {
    expect(guidToBytes(AD_TEXT).equals(AD_BYTES)).toBe(true);
    expect(guidToString(guidToBytes(AD_TEXT.toUpperCase()))).toBe(AD_TEXT);
    for (let i = 0; i < 50; i++) {
      const random = Buffer.from(crypto.getRandomValues(new Uint8Array(16)));
      expect(guidToBytes(guidToString(random)).equals(random)).toBe(true);
    }
  });

  it('rejects wrong lengths and non-GUID text', () => {
    expect(() => guidToString(Buffer.alloc(15))).toThrow(RangeError);
    expect(() => guidToBytes('not-a-guid')).toThrow(RangeError);
  });

  it('decodes the shapes ldapts can hand over', () => {
    expect(decodeObjectGuid(AD_BYTES)).toBe(AD_TEXT);
    // Bytes that were valid UTF-8 came back as a string: re-encoding restores them.
    const ascii = Buffer.from('0123456789abcdef', 'latin1');
    expect(decodeObjectGuid(ascii.toString('utf8'))).toBe(guidToString(ascii));
    // A schema storing the GUID as text.
    expect(decodeObjectGuid(AD_TEXT.toUpperCase())).toBe(AD_TEXT);
    expect(decodeObjectGuid(Buffer.alloc(3))).toBeNull();
  });
});

describe('entryUUID', () => {
  it('passes through, lowercased', () => {
    expect(normalizeEntryUuid('7A1C2B3D-0000-4000-8000-0123456789AB')).toBe(
      '7a1c2b3d-0000-4000-8000-0123456789ab',
    );
    expect(normalizeEntryUuid('garbage')).toBeNull();
  });
});
