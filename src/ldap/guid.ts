/**
 * Object identities. Active Directory's objectGUID is 16 raw bytes; its
 * canonical text form (what admins see in ADUC/PowerShell) stores the first
 * three groups little-endian, so bytes 0–3, 4–5 and 6–7 are reversed while
 * the last 8 bytes keep their order. OpenLDAP's entryUUID is already text.
 */

const GUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for the 8-4-4-4-12 hex form (any case). */
function isGuidText(value: string): boolean {
  return GUID_TEXT.test(value);
}

// Byte positions of the text form, in order; -1 is a dash.
const TEXT_ORDER = [3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15];
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/**
 * 16-byte objectGUID → `76543210-ba98-fedc-0123-456789abcdef` (lowercase).
 * Written into one buffer and decoded once: joining the five groups as
 * strings makes V8 keep a chain of concatenation nodes per GUID for as long
 * as the GUID lives, which is as long as its snapshot (docs/performance.md).
 */
export function guidToString(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`objectGUID must be 16 bytes, got ${bytes.length}`);
  const text = Buffer.allocUnsafe(36);
  let at = 0;
  for (const i of TEXT_ORDER) {
    if (i < 0) {
      text[at++] = 0x2d;
      continue;
    }
    const byte = bytes[i] as number;
    text[at++] = HEX_DIGITS[byte >> 4] as number;
    text[at++] = HEX_DIGITS[byte & 15] as number;
  }
  return text.toString('latin1');
}

/** The inverse of guidToString: AD text form → the 16 bytes stored in objectGUID. */
export function guidToBytes(text: string): Buffer {
  if (!isGuidText(text)) throw new RangeError(`not a GUID: ${text}`);
  const [a = '', b = '', c = '', d = '', e = ''] = text.split('-');
  return Buffer.concat([
    Buffer.from(a, 'hex').reverse(),
    Buffer.from(b, 'hex').reverse(),
    Buffer.from(c, 'hex').reverse(),
    Buffer.from(d, 'hex'),
    Buffer.from(e, 'hex'),
  ]);
}

/** entryUUID is already in text form; lowercased so ids compare byte-for-byte. */
export function normalizeEntryUuid(value: string): string | null {
  const trimmed = value.trim();
  return isGuidText(trimmed) ? trimmed.toLowerCase() : null;
}

/**
 * Decodes an objectGUID value as ldapts hands it over: normally a Buffer
 * (explicitBufferAttributes), but a server or schema may spell the value as
 * text (a GUID string), and ldapts decodes bytes that happen to be valid UTF-8
 * as a string when the attribute name was not matched for buffering.
 */
export function decodeObjectGuid(value: Buffer | string): string | null {
  if (typeof value === 'string') {
    const asText = normalizeEntryUuid(value);
    if (asText) return asText;
    // Valid UTF-8 decodes losslessly, so re-encoding restores the raw bytes.
    const bytes = Buffer.from(value, 'utf8');
    return bytes.length === 16 ? guidToString(bytes) : null;
  }
  if (value.length === 16) return guidToString(value);
  const asText = normalizeEntryUuid(value.toString('latin1'));
  return asText;
}
