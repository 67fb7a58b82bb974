/**
 * The DirSync control's values, byte for byte as MS-ADTS 3.1.1.3.4.1.3
 * describes them (expected bytes written out by hand), round trips, and the
 * way the control rides through ldapts: written into a request, and the
 * response control handed back to it by ldapts' ControlParser.
 */
import fc from 'fast-check';
import { BerReader, BerWriter, ControlParser, PagedResultsControl } from 'ldapts';
import { describe, expect, it } from 'vitest';
import {
  DIRSYNC_OID,
  DirSyncControl,
  DirSyncFlags,
  DirSyncFormatError,
  decodeDirSyncRequest,
  decodeDirSyncResponse,
  encodeDirSyncRequest,
  encodeDirSyncResponse,
} from '../../src/ldap/changes/dirsync-control.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const NO_COOKIE = new Uint8Array(0);

describe('DirSync request value', () => {
  it('encodes flags 0, no size and no cookie as three minimal elements', () => {
    expect(encodeDirSyncRequest({ flags: 0, maxBytes: 0, cookie: NO_COOKIE })).toEqual(
      hex('30 08  02 01 00  02 01 00  04 00'),
    );
  });

  it('encodes INCREMENTAL_VALUES | OBJECT_SECURITY as the negative INTEGER 0x80000001', () => {
    const flags = (DirSyncFlags.INCREMENTAL_VALUES | DirSyncFlags.OBJECT_SECURITY) >>> 0;
    expect(flags).toBe(0x80000001);
    expect(encodeDirSyncRequest({ flags, maxBytes: 0x100000, cookie: hex('010203') })).toEqual(
      hex('30 10  02 04 80 00 00 01  02 03 10 00 00  04 03 01 02 03'),
    );
  });

  it('encodes INCREMENTAL_VALUES alone in four bytes, not five', () => {
    expect(
      encodeDirSyncRequest({ flags: DirSyncFlags.INCREMENTAL_VALUES, maxBytes: -1, cookie: NO_COOKIE }),
    ).toEqual(hex('30 0b  02 04 80 00 00 00  02 01 ff  04 00'));
  });

  it('encodes a positive value whose top bit is set with a leading zero byte', () => {
    // 0x2800 needs no pad byte; 0x8000 and 0x80 do, or they would read as negative.
    expect(
      encodeDirSyncRequest({
        flags: DirSyncFlags.PUBLIC_DATA_ONLY | DirSyncFlags.ANCESTORS_FIRST_ORDER,
        maxBytes: 0x8000,
        cookie: NO_COOKIE,
      }),
    ).toEqual(hex('30 0b  02 02 28 00  02 03 00 80 00  04 00'));
    expect(encodeDirSyncRequest({ flags: 0x80, maxBytes: 0x7fffffff, cookie: NO_COOKIE })).toEqual(
      hex('30 0c  02 02 00 80  02 04 7f ff ff ff  04 00'),
    );
  });

  it('uses the long length form for a cookie of 200 bytes', () => {
    const cookie = Buffer.alloc(200, 0xab);
    const encoded = encodeDirSyncRequest({ flags: 1, maxBytes: 0, cookie });
    // 3 + 3 + (3 + 200) = 209 = 0xd1
    expect(encoded.subarray(0, 15)).toEqual(hex('30 81 d1  02 01 01  02 01 00  04 81 c8 ab ab ab'));
    expect(encoded).toHaveLength(212);
  });

  it('refuses flags and sizes that do not fit in 32 bits', () => {
    expect(() => encodeDirSyncRequest({ flags: 0x100000000, maxBytes: 0, cookie: NO_COOKIE })).toThrow(
      RangeError,
    );
    expect(() => encodeDirSyncRequest({ flags: 0, maxBytes: 0x80000000, cookie: NO_COOKIE })).toThrow(
      RangeError,
    );
    expect(() => encodeDirSyncRequest({ flags: 0.5, maxBytes: 0, cookie: NO_COOKIE })).toThrow(RangeError);
  });

  it('decodes a flag word a server padded to five bytes as the same unsigned flags', () => {
    expect(decodeDirSyncRequest(hex('30 0c  02 05 00 80 00 00 00  02 01 00  04 00'))).toEqual({
      flags: 0x80000000,
      maxBytes: 0,
      cookie: Buffer.alloc(0),
    });
  });
});

describe('DirSync response value', () => {
  it('decodes moreResults, unused and the cookie', () => {
    expect(decodeDirSyncResponse(hex('30 0c  02 01 00  02 01 00  04 04 4d 53 44 53'))).toEqual({
      moreResults: false,
      unused: 0,
      cookie: Buffer.from('MSDS'),
    });
    expect(decodeDirSyncResponse(hex('30 09  02 01 01  02 01 00  04 01 ff')).moreResults).toBe(true);
  });

  it('encodes what it decodes', () => {
    expect(encodeDirSyncResponse({ moreResults: true, unused: 0, cookie: Buffer.from('MSDS') })).toEqual(
      hex('30 0c  02 01 01  02 01 00  04 04 4d 53 44 53'),
    );
  });

  it('copies the cookie out of the buffer it was read from', () => {
    const bytes = hex('30 09  02 01 00  02 01 00  04 01 07');
    const { cookie } = decodeDirSyncResponse(bytes);
    bytes[10] = 0x99;
    expect(cookie).toEqual(hex('07'));
  });

  it.each([
    ['empty', ''],
    ['not a SEQUENCE', '31 03 02 01 00'],
    ['a truncated SEQUENCE', '30 0c 02 01 00'],
    ['bytes after the SEQUENCE', '30 08 02 01 00 02 01 00 04 00 00'],
    ['an element after the cookie', '30 0b 02 01 00 02 01 00 04 00 02 01 00'],
    ['no cookie', '30 06 02 01 00 02 01 00'],
    ['a cookie that is not an OCTET STRING', '30 08 02 01 00 02 01 00 05 00'],
    ['an empty INTEGER', '30 07 02 00 02 01 00 04 00'],
    ['an INTEGER of six bytes', '30 0d 02 06 00 00 00 00 00 01 02 01 00 04 00'],
    ['an indefinite length', '30 80 02 01 00 02 01 00 04 00 00 00'],
    ['a length of five bytes', '30 85 00 00 00 00 08 02 01 00 02 01 00 04 00'],
    ['a cookie longer than its SEQUENCE', '30 08 02 01 00 02 01 00 04 05'],
    ['unused beyond 32 signed bits', '30 0c 02 01 00 02 05 00 80 00 00 00 04 00'],
  ])('refuses %s', (_name, bytes) => {
    expect(() => decodeDirSyncResponse(hex(bytes))).toThrow(DirSyncFormatError);
  });
});

describe('round trips', () => {
  const cookies = fc.uint8Array({ maxLength: 700 });

  it('request: decode(encode(v)) is v, for every 32-bit flag word', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: -0x80000000, max: 0x7fffffff }),
        cookies,
        (flags, maxBytes, cookie) => {
          const decoded = decodeDirSyncRequest(encodeDirSyncRequest({ flags, maxBytes, cookie }));
          expect(decoded.flags).toBe(flags);
          expect(decoded.maxBytes).toBe(maxBytes);
          expect(Buffer.from(decoded.cookie)).toEqual(Buffer.from(cookie));
        },
      ),
    );
  });

  it('response: decode(encode(v)) is v', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: -0x80000000, max: 0x7fffffff }),
        cookies,
        (moreResults, unused, cookie) => {
          const value = { moreResults, unused, cookie: Buffer.from(cookie) };
          expect(decodeDirSyncResponse(encodeDirSyncResponse(value))).toEqual(value);
        },
      ),
    );
  });

  it('integers are minimal and read back the same by ldapts', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), (maxBytes) => {
        const encoded = encodeDirSyncRequest({ flags: 0, maxBytes, cookie: NO_COOKIE });
        // SEQUENCE header (2), flags 02 01 00 (3), then the INTEGER.
        const length = encoded[6] as number;
        if (length > 1) {
          const top9 = (((encoded[7] as number) << 1) | ((encoded[8] as number) >> 7)) & 0x1ff;
          expect(top9 === 0 || top9 === 0x1ff).toBe(false);
        }
        const reader = new BerReader(encoded);
        reader.readSequence();
        expect(reader.readInt()).toBe(0);
        expect(reader.readInt()).toBe(maxBytes);
      }),
    );
  });
});

describe('DirSyncControl in ldapts', () => {
  it('is written critical, its value an OCTET STRING holding the request', () => {
    const control = new DirSyncControl({
      flags: DirSyncFlags.INCREMENTAL_VALUES,
      maxBytes: 0,
      cookie: hex('ff'),
    });
    const writer = new BerWriter();
    control.write(writer);
    const oid = Buffer.from(DIRSYNC_OID, 'latin1');
    expect(writer.buffer).toEqual(
      Buffer.concat([
        hex(`30 ${(2 + oid.length + 3 + 2 + 14).toString(16)} 04 ${oid.length.toString(16)}`),
        oid,
        hex('01 01 ff'),
        hex('04 0e  30 0c  02 04 80 00 00 00  02 01 00  04 01 ff'),
      ]),
    );
  });

  it('refuses bad flags when made, not when ldapts writes the message', () => {
    expect(() => new DirSyncControl({ flags: -0x80000001, maxBytes: 0, cookie: NO_COOKIE })).toThrow(
      RangeError,
    );
  });

  /** A response control as a server sends it: SEQUENCE { OID, [critical], OCTET STRING value }. */
  function responseControl(value: Buffer, critical = true): BerReader {
    const writer = new BerWriter();
    writer.startSequence();
    writer.writeString(DIRSYNC_OID);
    writer.writeBoolean(critical);
    writer.writeBuffer(value, 0x04);
    writer.endSequence();
    return new BerReader(writer.buffer);
  }

  it('receives the response value through ldapts ControlParser (unknown OIDs go to the request control)', () => {
    const request = new DirSyncControl({ flags: 0, maxBytes: 0, cookie: NO_COOKIE });
    const value = encodeDirSyncResponse({ moreResults: false, unused: 0, cookie: hex('4d534453 0300') });
    const parsed = ControlParser.parse(responseControl(value), [new PagedResultsControl(), request]);
    expect(parsed).toBe(request);
    expect(request.response).toEqual({ moreResults: false, unused: 0, cookie: hex('4d534453 0300') });
    expect(request.responseError).toBeNull();
  });

  it('keeps a malformed response value as an error instead of throwing into ldapts', () => {
    const request = new DirSyncControl({ flags: 0, maxBytes: 0, cookie: NO_COOKIE });
    ControlParser.parse(responseControl(hex('30 03 02 01 00')), [request]);
    expect(request.response).toBeNull();
    expect(request.responseError).toBeInstanceOf(DirSyncFormatError);
  });

  it('is not given a response control that ldapts cannot match to it', () => {
    const request = new DirSyncControl({ flags: 0, maxBytes: 0, cookie: NO_COOKIE });
    expect(ControlParser.parse(responseControl(hex('30 08 02 01 00 02 01 00 04 00')), [])).toBeNull();
    expect(request.response).toBeNull();
  });
});
