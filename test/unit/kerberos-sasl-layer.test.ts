import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chooseLayer,
  createSaslWriter,
  DEFAULT_CLIENT_MAX_BUFFER,
  decodeLayerOffer,
  encodeLayerReply,
  frameSaslBuffer,
  type LayerPolicy,
  negotiateSecurityLayer,
  SaslBufferReader,
  SaslLayerError,
  type SaslLayerErrorCode,
  splitForWrap,
} from '../../src/ldap/kerberos/sasl-layer.js';

const offer = (mask: number, size = 0x00ffff) =>
  Buffer.from([mask, (size >> 16) & 0xff, (size >> 8) & 0xff, size & 0xff]);

function saslError(run: () => unknown): SaslLayerError {
  try {
    run();
  } catch (err) {
    if (err instanceof SaslLayerError) return err;
    throw err;
  }
  throw new Error('no error');
}

function expectSaslError(run: () => unknown, code: SaslLayerErrorCode, message: RegExp): void {
  const err = saslError(run);
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
}

const PLAIN: LayerPolicy = { transportEncrypted: false };
const TLS: LayerPolicy = { transportEncrypted: true };
const TLS_LAYER_REQUIRED: LayerPolicy = { transportEncrypted: true, layerRequired: true };

describe("the server's security layer offer (RFC 4752 §3.1)", () => {
  it('reads the bitmask and the 3-byte big-endian size', () => {
    expect(decodeLayerOffer(offer(0x07, 0x00ffff))).toEqual({
      layers: ['none', 'integrity', 'confidentiality'],
      maxBufferSize: 65535,
    });
    // Windows AD announces 10,000,000 bytes.
    expect(decodeLayerOffer(Buffer.from([0x06, 0x98, 0x96, 0x80]))).toEqual({
      layers: ['integrity', 'confidentiality'],
      maxBufferSize: 10_000_000,
    });
    expect(decodeLayerOffer(offer(0x01, 0))).toEqual({ layers: ['none'], maxBufferSize: 0 });
    // Reserved bits are ignored.
    expect(decodeLayerOffer(offer(0xfa, 0x123456))).toEqual({
      layers: ['integrity'],
      maxBufferSize: 0x123456,
    });
  });

  it('refuses a message that is not 4 bytes', () => {
    for (const length of [0, 3, 5, 40]) {
      expectSaslError(() => decodeLayerOffer(Buffer.alloc(length, 7)), 'SASL_BAD_LAYER_MESSAGE', /not 4/);
    }
  });
});

describe('choosing the layer', () => {
  // Offered mask → choice over plain LDAP, over TLS, over TLS where the server insists on a layer.
  const table: [number, string, string, string][] = [
    [0b111, 'confidentiality', 'none', 'integrity'],
    [0b110, 'confidentiality', 'integrity', 'integrity'],
    [0b101, 'confidentiality', 'none', 'confidentiality'],
    [0b100, 'confidentiality', 'confidentiality', 'confidentiality'],
    [0b011, 'integrity', 'none', 'integrity'],
    [0b010, 'integrity', 'integrity', 'integrity'],
    [0b001, 'refused', 'none', 'refused'],
    [0b000, 'refused', 'refused', 'refused'],
  ];
  const choice = (mask: number, policy: LayerPolicy) => {
    try {
      return chooseLayer(decodeLayerOffer(offer(mask)), policy);
    } catch (err) {
      if (err instanceof SaslLayerError && err.code === 'SASL_LAYER_NOT_OFFERED') return 'refused';
      throw err;
    }
  };

  it.each(table)('offer %i: plain %s, TLS %s, TLS with a layer required %s', (mask, plain, tls, required) => {
    expect([choice(mask, PLAIN), choice(mask, TLS), choice(mask, TLS_LAYER_REQUIRED)]).toEqual([
      plain,
      tls,
      required,
    ]);
  });

  it('a refusal names what the server offered and what would do', () => {
    expectSaslError(
      () => chooseLayer(decodeLayerOffer(offer(0b001)), PLAIN),
      'SASL_LAYER_NOT_OFFERED',
      /offers the SASL security layers none; over plain LDAP dirgate needs confidentiality or integrity: .*StartTLS or LDAPS/,
    );
    expectSaslError(
      () => chooseLayer(decodeLayerOffer(offer(0)), TLS),
      'SASL_LAYER_NOT_OFFERED',
      /offers the SASL security layers no layer at all; over TLS dirgate needs none or integrity or confidentiality/,
    );
  });

  it('over plain LDAP the choice is never none, and always one the server offered', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.boolean(), fc.boolean(), (mask, tls, required) => {
        const policy = { transportEncrypted: tls, layerRequired: required };
        const chosen = choice(mask, policy);
        if (chosen === 'refused') return;
        expect(decodeLayerOffer(offer(mask)).layers).toContain(chosen);
        if (!tls || required) expect(chosen).not.toBe('none');
      }),
    );
  });
});

describe("the client's reply", () => {
  it('is the chosen bit, our 3-byte size and the authzid in UTF-8, without a NUL', () => {
    expect(encodeLayerReply({ layer: 'confidentiality', maxBufferSize: 0x100000 }).toString('hex')).toBe(
      '04100000',
    );
    expect(encodeLayerReply({ layer: 'integrity', maxBufferSize: 0xffffff }).toString('hex')).toBe(
      '02ffffff',
    );
    expect(encodeLayerReply({ layer: 'none', maxBufferSize: 0 }).toString('hex')).toBe('01000000');
    expect(encodeLayerReply({ layer: 'integrity', maxBufferSize: 65536, authzid: 'u:jür' })).toEqual(
      Buffer.concat([Buffer.from([2, 1, 0, 0]), Buffer.from('u:jür', 'utf8')]),
    );
  });

  it('refuses sizes RFC 4752 forbids and NULs', () => {
    expect(() => encodeLayerReply({ layer: 'none', maxBufferSize: 1 })).toThrow(RangeError);
    expect(() => encodeLayerReply({ layer: 'integrity', maxBufferSize: 0 })).toThrow(RangeError);
    expect(() => encodeLayerReply({ layer: 'integrity', maxBufferSize: 0x1000000 })).toThrow(RangeError);
    expect(() => encodeLayerReply({ layer: 'integrity', maxBufferSize: 1.5 })).toThrow(RangeError);
    expect(() => encodeLayerReply({ layer: 'none', maxBufferSize: 0, authzid: 'a\0b' })).toThrow(RangeError);
  });
});

describe('negotiation', () => {
  it('over plain LDAP against Samba-like offers: confidentiality, our default buffer, the server bound', () => {
    expect(negotiateSecurityLayer(offer(0b111, 0xffffff), PLAIN)).toEqual({
      layer: 'confidentiality',
      serverMaxBuffer: 0xffffff,
      clientMaxBuffer: DEFAULT_CLIENT_MAX_BUFFER,
      reply: Buffer.from([4, 0x10, 0, 0]),
    });
  });

  it('over TLS with none offered: no layer, both sizes 0, authzid passed on', () => {
    expect(negotiateSecurityLayer(offer(0b111, 0xffffff), TLS, { authzid: 'dn:cn=a' })).toEqual({
      layer: 'none',
      serverMaxBuffer: 0,
      clientMaxBuffer: 0,
      reply: Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.from('dn:cn=a')]),
    });
  });

  it('takes our buffer size, and refuses a server buffer too small for any wrapped message', () => {
    expect(negotiateSecurityLayer(offer(0b010, 4096), PLAIN, { clientMaxBuffer: 65536 }).reply).toEqual(
      Buffer.from([2, 1, 0, 0]),
    );
    expectSaslError(
      () => negotiateSecurityLayer(offer(0b110, 128), PLAIN),
      'SASL_SERVER_BUFFER_TOO_SMALL',
      /at most 128 bytes/,
    );
    expectSaslError(
      () => negotiateSecurityLayer(offer(0b110, 0), PLAIN, { wrapOverhead: 60 }),
      'SASL_SERVER_BUFFER_TOO_SMALL',
      /more than 60 needed/,
    );
    expect(negotiateSecurityLayer(offer(0b110, 61), PLAIN, { wrapOverhead: 60 }).serverMaxBuffer).toBe(61);
  });
});

/** Cuts bytes at the given offsets (sorted, any order given), including empty pieces. */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const points = [...offsets.map((o) => o % (bytes.length + 1)), 0, bytes.length].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  for (let i = 1; i < points.length; i++) pieces.push(bytes.subarray(points[i - 1], points[i]));
  return pieces;
}

const framed = (tokens: Buffer[]) => Buffer.concat(tokens.map((t) => frameSaslBuffer(t, 0xffffff)));

describe('incoming SASL buffers', () => {
  const tokens = fc.array(
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)),
    { maxLength: 8 },
  );

  it('gives back whole tokens in order however the stream is cut', () => {
    fc.assert(
      fc.property(tokens, fc.array(fc.nat(), { maxLength: 20 }), (sent, offsets) => {
        const reader = new SaslBufferReader(300);
        const received = cut(framed(sent), offsets).flatMap((chunk) => reader.push(chunk));
        expect(received).toEqual(sent);
        expect(reader.pendingBytes).toBe(0);
        expect(() => reader.end()).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });

  it('gives every whole token of a chunk at once and keeps the rest for the next', () => {
    const reader = new SaslBufferReader(100);
    const stream = framed([Buffer.from('first'), Buffer.from('second'), Buffer.from('third')]);
    const split = stream.length - 3;
    expect(reader.push(stream.subarray(0, split)).map(String)).toEqual(['first', 'second']);
    expect(reader.pendingBytes).toBe(6);
    expect(reader.push(Buffer.alloc(0))).toEqual([]);
    expect(reader.push(stream.subarray(split)).map(String)).toEqual(['third']);
  });

  it('refuses a length above the negotiated size on the length field, before buffering its body', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 13 }), (headerSplit) => {
        const reader = new SaslBufferReader(1000);
        // A length of 1001 and the first bytes of its body, in two pieces cut inside the length or after it.
        const start = Buffer.concat([Buffer.from([0, 0, 0x03, 0xe9]), Buffer.alloc(10, 7)]);
        let error: unknown = null;
        for (const piece of [start.subarray(0, headerSplit), start.subarray(headerSplit)]) {
          try {
            reader.push(piece);
          } catch (err) {
            error = err;
          }
        }
        expect(error).toBeInstanceOf(SaslLayerError);
        expect((error as SaslLayerError).code).toBe('SASL_BAD_BUFFER');
        expect((error as SaslLayerError).message).toMatch(/1001 bytes, more than the 1000 negotiated/);
        expect(reader.pendingBytes).toBe(0);
        // Failed for good: not even a valid buffer is taken after it.
        expect(() => reader.push(frameSaslBuffer(Buffer.from('ok'), 1000))).toThrow(/1001 bytes/);
      }),
    );
    // Exactly the negotiated size is fine.
    const reader = new SaslBufferReader(1000);
    expect(reader.push(frameSaslBuffer(Buffer.alloc(1000, 1), 1000))).toHaveLength(1);
    // A 4 GiB length is refused at once too.
    expectSaslError(
      () => new SaslBufferReader(1000).push(Buffer.from([0xff, 0xff, 0xff, 0xff, 1])),
      'SASL_BAD_BUFFER',
      /4294967295/,
    );
  });

  it('refuses an empty buffer', () => {
    expectSaslError(
      () => new SaslBufferReader(1000).push(Buffer.alloc(4)),
      'SASL_BAD_BUFFER',
      /empty SASL buffer/,
    );
  });

  it('reports a connection that ends inside a buffer, or inside its length', () => {
    const partialBody = new SaslBufferReader(100);
    partialBody.push(framed([Buffer.from('abcdef')]).subarray(0, 7));
    expectSaslError(() => partialBody.end(), 'SASL_TRUNCATED', /7 bytes of it received/);
    const lengthOnly = new SaslBufferReader(100);
    lengthOnly.push(Buffer.from([0, 0, 0, 6]));
    expectSaslError(() => lengthOnly.end(), 'SASL_TRUNCATED', /4 bytes of it received/);
    const partialHeader = new SaslBufferReader(100);
    partialHeader.push(Buffer.from([0, 0]));
    expectSaslError(() => partialHeader.end(), 'SASL_TRUNCATED', /inside a SASL buffer/);
  });

  it('refuses a bound it could not announce', () => {
    expect(() => new SaslBufferReader(0)).toThrow(RangeError);
    expect(() => new SaslBufferReader(0x1000000)).toThrow(RangeError);
  });
});

describe('outgoing SASL buffers', () => {
  /** A stand-in for gss_wrap: a header of `overhead` bytes (its length in the first), then the data reversed. */
  const fakeWrap = (overhead: number) => (piece: Buffer) =>
    Buffer.concat([Buffer.alloc(overhead, overhead), Buffer.from(piece).reverse()]);
  const fakeUnwrap = (token: Buffer) => Buffer.from(token.subarray(token[0]!)).reverse();

  it('cuts data into pieces that fit the server buffer once wrapped, wraps and frames each, in order', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 1, max: 700 }),
        (data, overhead, room) => {
          const maxBufferSize = overhead + room;
          const pieces: Buffer[] = [];
          const write = createSaslWriter({
            maxBufferSize,
            wrapOverhead: overhead,
            wrap: (piece) => {
              pieces.push(Buffer.from(piece));
              return fakeWrap(overhead)(piece);
            },
          });
          const buffers = write(data);
          expect(pieces).toHaveLength(Math.ceil(data.length / room));
          for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(room);
          // What the server sees: whole buffers within its bound, unwrapping to the data.
          const server = new SaslBufferReader(maxBufferSize);
          const tokens = buffers.flatMap((b) => server.push(b));
          expect(tokens).toHaveLength(buffers.length);
          expect(Buffer.concat(tokens.map(fakeUnwrap)).equals(data)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('writes nothing for no data', () => {
    expect(createSaslWriter({ maxBufferSize: 1000, wrap: fakeWrap(10) })(Buffer.alloc(0))).toEqual([]);
  });

  it('uses the default overhead of 128 bytes', () => {
    const sizes: number[] = [];
    const write = createSaslWriter({
      maxBufferSize: 1128,
      wrap: (piece) => {
        sizes.push(piece.length);
        return fakeWrap(60)(piece);
      },
    });
    write(Buffer.alloc(2500));
    expect(sizes).toEqual([1000, 1000, 500]);
  });

  it('refuses, instead of sending, a token larger than the server takes', () => {
    const write = createSaslWriter({ maxBufferSize: 200, wrapOverhead: 20, wrap: fakeWrap(21) });
    expect(write(Buffer.alloc(179))).toHaveLength(1);
    expectSaslError(
      () => write(Buffer.alloc(180)),
      'SASL_WRAPPED_TOO_LARGE',
      /201 bytes does not fit .* 200 bytes/,
    );
  });

  it('refuses a server buffer that cannot carry the overhead', () => {
    expectSaslError(
      () => createSaslWriter({ maxBufferSize: 128, wrap: fakeWrap(1) }),
      'SASL_SERVER_BUFFER_TOO_SMALL',
      /128 bytes cannot carry/,
    );
    expect(() => createSaslWriter({ maxBufferSize: 0x1000000, wrap: fakeWrap(1) })).toThrow(RangeError);
  });

  it('splitForWrap keeps every byte, in pieces of at most the size', () => {
    expect(splitForWrap(Buffer.from('abcdefg'), 3).map(String)).toEqual(['abc', 'def', 'g']);
    expect(splitForWrap(Buffer.alloc(0), 3)).toEqual([]);
    expect(() => splitForWrap(Buffer.from('a'), 0)).toThrow(RangeError);
  });
});
