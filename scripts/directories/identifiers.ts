/**
 * Binary identifiers as Active Directory stores them: objectGUID (16 bytes,
 * whose string form reverses the first three groups) and objectSid. The
 * generator keeps string forms; the loaders write these bytes.
 */

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** AD's string form of a binary objectGUID: bytes 0–3, 4–5, 6–7 reversed, the rest in order. */
export function guidFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new Error(`objectGUID must be 16 bytes, got ${bytes.length}`);
  const h = (i: number): string => HEX[bytes[i] as number] as string;
  return (
    `${h(3)}${h(2)}${h(1)}${h(0)}-${h(5)}${h(4)}-${h(7)}${h(6)}-` +
    `${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`
  );
}

/** The binary objectGUID for AD's string form (inverse of guidFromBytes). */
export function guidToBytes(guid: string): Buffer {
  const hex = guid.replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a GUID: ${guid}`);
  const raw = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  order.forEach((from, to) => {
    out[to] = raw[from] as number;
  });
  return out;
}

/** Builds a random-looking version-4 GUID from four 32-bit values. */
export function guidFromWords(w0: number, w1: number, w2: number, w3: number): string {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, w0);
  view.setUint32(4, w1);
  view.setUint32(8, w2);
  view.setUint32(12, w3);
  // Byte 7 leads the third group of the string form: mark version 4 and the RFC 4122 variant.
  bytes[7] = ((bytes[7] as number) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  return guidFromBytes(bytes);
}

/** Binary objectSid for `S-1-5-21-a-b-c-rid`-style strings. */
export function sidToBytes(sid: string): Buffer {
  const parts = sid.split('-');
  if (parts[0] !== 'S' || parts.length < 3) throw new Error(`not a SID: ${sid}`);
  const revision = Number(parts[1]);
  const authority = Number(parts[2]);
  const subAuthorities = parts.slice(3).map(Number);
  const out = Buffer.alloc(8 + 4 * subAuthorities.length);
  out[0] = revision;
  out[1] = subAuthorities.length;
  // The 48-bit authority is big-endian; sub-authorities are little-endian.
  out.writeUIntBE(authority, 2, 6);
  subAuthorities.forEach((value, i) => {
    out.writeUInt32LE(value >>> 0, 8 + 4 * i);
  });
  return out;
}

/** The string form of a binary objectSid. */
export function sidFromBytes(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes);
  const count = buffer[1] as number;
  const parts = [`S-${buffer[0]}-${buffer.readUIntBE(2, 6)}`];
  for (let i = 0; i < count; i++) parts.push(String(buffer.readUInt32LE(8 + 4 * i)));
  return parts.join('-');
}
