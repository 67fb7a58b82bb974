/**
 * The SASL security layer of a GSSAPI bind (RFC 4752 §3.1, RFC 4422 §3.7),
 * the parts that need no Kerberos: choosing the layer and cutting the LDAP
 * stream into protected buffers. Samba (`ldap server require strong auth`,
 * its default) and hardened Windows DCs refuse a GSSAPI session without a
 * layer on plain `ldap://` (LAB.md, "Kerberos"), so after the bind every
 * LDAP message of the run travels inside these buffers.
 *
 * What happens, and who does what:
 *  1. Once the GSSAPI context is established, the server sends a wrap token;
 *     the caller unwraps it (gss_unwrap) and hands the 4 bytes here:
 *     decodeLayerOffer() reads the layers offered (bit 1 none, 2 integrity,
 *     4 confidentiality) and the largest protected buffer the server takes.
 *  2. negotiateSecurityLayer() chooses by the policy: over TLS no layer when
 *     offered (TLS protects already), else integrity; over plain LDAP
 *     confidentiality, else integrity, never none. It builds the reply
 *     (layer, our largest buffer, authzid), which the caller wraps WITHOUT
 *     confidentiality (RFC 4752: conf_flag FALSE) and sends as the last
 *     SASL bind step. The npm `kerberos` package (7.0.0) cannot send it:
 *     its wrap() always takes the `user` branch and sends a "no layer"
 *     reply instead of the data (docs/kerberos-lab.md, measured; upstream
 *     PR mongodb-js/kerberos#206 was closed), so the bind needs a patched
 *     or our own binding.
 *
 * Measured against Samba 4.17 (docs/kerberos-lab.md): over plain ldap://
 * confidentiality and integrity are accepted and no layer is refused (8);
 * over StartTLS and LDAPS every GSSAPI bind is refused, no layer with 8 and a
 * layer with 53 ("Sign or Seal are not allowed if TLS is used"). The over-TLS
 * policy below follows RFC 4752 and Windows; against such a Samba the bind
 * must fail with a typed error that points to ldap:// with a layer.
 *  3. From then on (both ways, right after the successful bind response)
 *     each buffer is a 4-byte big-endian length and a token: SaslBufferReader
 *     reassembles incoming tokens however the socket cuts them (the caller
 *     unwraps each and feeds the LDAP parser), createSaslWriter() cuts
 *     outgoing LDAP bytes into pieces the server takes, wraps each (with
 *     confidentiality for that layer, without for integrity) and frames it.
 * Left for the GSSAPI bind (#17): the context itself (`kerberos` package),
 * the SASL bind round trips (ldapts throws on saslBindInProgress), and
 * placing reader and writer between the socket and the LDAP client. The
 * package's wrap and unwrap are asynchronous, take and give base64, and
 * keep their result in one slot of the client's state (its C source), so
 * they must run one at a time per client, in stream order: with them, use
 * splitForWrap() and frameSaslBuffer() around an awaited wrap instead of
 * createSaslWriter(), whose `wrap` is synchronous.
 *
 * Bounds: an incoming length above what we announced is refused on the
 * length field, before its body is buffered, so a hostile or broken server
 * cannot make us hold more than one announced buffer.
 */

export type SaslLayer = 'none' | 'integrity' | 'confidentiality';

const LAYER_BITS: Readonly<Record<SaslLayer, number>> = { none: 1, integrity: 2, confidentiality: 4 };
const LAYERS: readonly SaslLayer[] = ['none', 'integrity', 'confidentiality'];

/** The 3-byte size fields cannot say more. */
export const MAX_SASL_BUFFER = 0xffffff;

/**
 * Our largest incoming protected buffer by default (1 MiB): large enough
 * that a page of search results takes few buffers, small enough to hold.
 */
export const DEFAULT_CLIENT_MAX_BUFFER = 1024 * 1024;

/**
 * Bytes a Kerberos wrap token adds to its data, at most (the GSS-API has
 * gss_wrap_size_limit for it, which the `kerberos` package does not offer).
 * RFC 4121 tokens: 16 header + 16 confounder + 16 encrypted header copy +
 * 12 (sha1-96) or 24 (sha384-192) checksum = 72 at most; RC4 (RFC 4757)
 * tokens with their mechanism framing stay under 64. 128 leaves a margin,
 * and the writer checks every token it sends anyway.
 */
export const DEFAULT_WRAP_OVERHEAD = 128;

export type SaslLayerErrorCode =
  /** The server's layer message is not the 4 bytes RFC 4752 defines. */
  | 'SASL_BAD_LAYER_MESSAGE'
  /** The server offers no layer the policy allows. */
  | 'SASL_LAYER_NOT_OFFERED'
  /** The server takes buffers too small to carry any wrapped data. */
  | 'SASL_SERVER_BUFFER_TOO_SMALL'
  /** An incoming buffer is larger than we announced, or empty. */
  | 'SASL_BAD_BUFFER'
  /** The connection ended in the middle of a buffer. */
  | 'SASL_TRUNCATED'
  /** A wrapped outgoing token is larger than the server takes. */
  | 'SASL_WRAPPED_TOO_LARGE';

/** A failure of the security layer; the bind turns it into an error of the BIND step with the server. */
export class SaslLayerError extends Error {
  constructor(
    readonly code: SaslLayerErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SaslLayerError';
  }
}

export interface LayerOffer {
  /** The layers offered, in the order none, integrity, confidentiality. */
  readonly layers: readonly SaslLayer[];
  /** The largest protected buffer (the token, without its length) the server takes. */
  readonly maxBufferSize: number;
}

export interface LayerPolicy {
  /** The connection runs over TLS (LDAPS or StartTLS): no layer is needed for secrecy. */
  readonly transportEncrypted: boolean;
  /**
   * Never choose no layer, even over TLS (default false). For a retry: Samba
   * 4.17 refuses a GSSAPI session without a layer over StartTLS too
   * ("Sign or Seal are required") while its offer may include none.
   */
  readonly layerRequired?: boolean;
}

function describe(layers: readonly SaslLayer[]): string {
  return layers.length === 0 ? 'no layer at all' : layers.join(', ');
}

/** Reads the server's unwrapped layer message: a bitmask and a 3-byte big-endian size. */
export function decodeLayerOffer(unwrapped: Uint8Array): LayerOffer {
  if (unwrapped.length !== 4) {
    throw new SaslLayerError(
      'SASL_BAD_LAYER_MESSAGE',
      `the server's SASL GSSAPI security layer message is ${unwrapped.length} bytes, not 4 (RFC 4752)`,
    );
  }
  const mask = unwrapped[0]!;
  // Bits above 4 are reserved: ignored, as RFC 4752 peers do.
  const layers = LAYERS.filter((layer) => (mask & LAYER_BITS[layer]) !== 0);
  const maxBufferSize = (unwrapped[1]! << 16) | (unwrapped[2]! << 8) | unwrapped[3]!;
  return { layers, maxBufferSize };
}

/** The layer the policy takes from an offer; throws SASL_LAYER_NOT_OFFERED naming the offer. */
export function chooseLayer(offer: LayerOffer, policy: LayerPolicy): SaslLayer {
  const preference: readonly SaslLayer[] = policy.transportEncrypted
    ? policy.layerRequired
      ? ['integrity', 'confidentiality']
      : ['none', 'integrity', 'confidentiality']
    : ['confidentiality', 'integrity'];
  const chosen = preference.find((layer) => offer.layers.includes(layer));
  if (chosen === undefined) {
    const needed = preference.join(' or ');
    const fix = policy.transportEncrypted
      ? 'allow signing or sealing on the server'
      : 'allow signing or sealing on the server, or use StartTLS or LDAPS';
    throw new SaslLayerError(
      'SASL_LAYER_NOT_OFFERED',
      `the server offers the SASL security layers ${describe(offer.layers)}; ${policy.transportEncrypted ? 'over TLS' : 'over plain LDAP'} dirgate needs ${needed}: ${fix}`,
    );
  }
  return chosen;
}

export interface LayerReply {
  readonly layer: SaslLayer;
  /** Our largest incoming buffer; must be 0 when no layer is chosen (RFC 4752). */
  readonly maxBufferSize: number;
  /** Identity to act as; empty (the default) for the authenticated principal itself. */
  readonly authzid?: string;
}

/** The client's reply before wrapping: chosen layer bit, 3-byte size, authzid in UTF-8 (no NUL). */
export function encodeLayerReply(reply: LayerReply): Buffer {
  const { layer, maxBufferSize } = reply;
  const authzid = reply.authzid ?? '';
  if (
    !Number.isInteger(maxBufferSize) ||
    (layer === 'none' ? maxBufferSize !== 0 : maxBufferSize < 1 || maxBufferSize > MAX_SASL_BUFFER)
  ) {
    throw new RangeError(
      `SASL buffer size ${maxBufferSize} for layer ${layer}: 0 for none, else 1 to ${MAX_SASL_BUFFER}`,
    );
  }
  if (authzid.includes('\0')) throw new RangeError('a SASL authzid cannot contain NUL');
  const out = Buffer.alloc(4);
  out.writeUInt32BE(maxBufferSize, 0);
  out[0] = LAYER_BITS[layer];
  return Buffer.concat([out, Buffer.from(authzid, 'utf8')]);
}

export interface NegotiatedLayer {
  readonly layer: SaslLayer;
  /** The largest token the server takes (the writer's bound); 0 when no layer. */
  readonly serverMaxBuffer: number;
  /** The largest token we take (the reader's bound); 0 when no layer. */
  readonly clientMaxBuffer: number;
  /** The reply to wrap (conf_flag FALSE) and send as the last bind step. */
  readonly reply: Buffer;
}

export interface NegotiateOptions {
  /** Our largest incoming buffer (default DEFAULT_CLIENT_MAX_BUFFER). */
  readonly clientMaxBuffer?: number;
  readonly authzid?: string;
  /** As for createSaslWriter (default DEFAULT_WRAP_OVERHEAD): the server must take more than this. */
  readonly wrapOverhead?: number;
}

/** Steps 1 and 2 above: the server's unwrapped message in, the chosen layer and the reply out. */
export function negotiateSecurityLayer(
  unwrapped: Uint8Array,
  policy: LayerPolicy,
  options: NegotiateOptions = {},
): NegotiatedLayer {
  const offer = decodeLayerOffer(unwrapped);
  const layer = chooseLayer(offer, policy);
  if (layer === 'none') {
    return {
      layer,
      serverMaxBuffer: 0,
      clientMaxBuffer: 0,
      reply: encodeLayerReply({ layer, maxBufferSize: 0, ...authz(options) }),
    };
  }
  const overhead = options.wrapOverhead ?? DEFAULT_WRAP_OVERHEAD;
  if (offer.maxBufferSize <= overhead) {
    throw new SaslLayerError(
      'SASL_SERVER_BUFFER_TOO_SMALL',
      `the server takes SASL buffers of at most ${offer.maxBufferSize} bytes, too small for a wrapped message (more than ${overhead} needed)`,
    );
  }
  const clientMaxBuffer = options.clientMaxBuffer ?? DEFAULT_CLIENT_MAX_BUFFER;
  return {
    layer,
    serverMaxBuffer: offer.maxBufferSize,
    clientMaxBuffer,
    reply: encodeLayerReply({ layer, maxBufferSize: clientMaxBuffer, ...authz(options) }),
  };
}

function authz(options: NegotiateOptions): { authzid?: string } {
  return options.authzid === undefined ? {} : { authzid: options.authzid };
}

/**
 * Incoming side: Buffer chunks as the socket delivers them in, whole tokens
 * out, in order. An announced length above `maxBufferSize` (what we told the
 * server) or of zero (no wrap token is empty) fails the reader for good.
 */
export class SaslBufferReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the token being read, once its 4-byte length has arrived. */
  private expected: number | null = null;
  private failure: SaslLayerError | null = null;

  constructor(private readonly maxBufferSize: number) {
    if (!Number.isInteger(maxBufferSize) || maxBufferSize < 1 || maxBufferSize > MAX_SASL_BUFFER) {
      throw new RangeError(`SASL buffer size ${maxBufferSize}: 1 to ${MAX_SASL_BUFFER}`);
    }
  }

  /** Bytes received and not yet given back in a token (a length field read counts). */
  get pendingBytes(): number {
    return this.buffered + (this.expected === null ? 0 : 4);
  }

  push(chunk: Uint8Array): Buffer[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.buffered += chunk.length;
    }
    const tokens: Buffer[] = [];
    for (;;) {
      if (this.expected === null) {
        if (this.buffered < 4) break;
        const length = this.take(4).readUInt32BE(0);
        if (length === 0 || length > this.maxBufferSize) {
          this.failure = new SaslLayerError(
            'SASL_BAD_BUFFER',
            length === 0
              ? 'the server sent an empty SASL buffer'
              : `the server sent a SASL buffer of ${length} bytes, more than the ${this.maxBufferSize} negotiated`,
          );
          this.chunks.length = 0;
          this.buffered = 0;
          throw this.failure;
        }
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      tokens.push(this.take(this.expected));
      this.expected = null;
    }
    return tokens;
  }

  /** The connection ended: fine between buffers, a SASL_TRUNCATED error inside one. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.pendingBytes > 0) {
      throw new SaslLayerError(
        'SASL_TRUNCATED',
        `the connection ended inside a SASL buffer (${this.pendingBytes} bytes of it received)`,
      );
    }
  }

  /** Removes `count` buffered bytes (count ≤ buffered): a view when one chunk holds them, else a copy. */
  private take(count: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= count) {
      if (first.length === count) this.chunks.shift();
      else this.chunks[0] = first.subarray(count);
      this.buffered -= count;
      return first.subarray(0, count);
    }
    const out = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.length, count - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.buffered -= count;
    return out;
  }
}

/** Cuts data into pieces of at most `maxPiece` bytes (none for empty data). */
export function splitForWrap(data: Uint8Array, maxPiece: number): Buffer[] {
  if (!Number.isInteger(maxPiece) || maxPiece < 1) throw new RangeError(`piece size ${maxPiece}`);
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += maxPiece) pieces.push(bytes.subarray(at, at + maxPiece));
  return pieces;
}

/** One wrapped token as a SASL buffer: its 4-byte big-endian length, then itself. */
export function frameSaslBuffer(token: Uint8Array, maxBufferSize: number): Buffer {
  if (token.length === 0) throw new RangeError('wrap produced an empty token');
  if (token.length > maxBufferSize) {
    throw new SaslLayerError(
      'SASL_WRAPPED_TOO_LARGE',
      `a wrapped SASL token of ${token.length} bytes does not fit the server's buffer of ${maxBufferSize} bytes`,
    );
  }
  const header = Buffer.alloc(4);
  header.writeUInt32BE(token.length, 0);
  return Buffer.concat([header, token]);
}

export interface SaslWriterOptions {
  /** The largest token the server takes (NegotiatedLayer.serverMaxBuffer). */
  readonly maxBufferSize: number;
  /** gss_wrap, with confidentiality for that layer and without for integrity. */
  readonly wrap: (piece: Buffer) => Buffer;
  /** Most bytes `wrap` adds (default DEFAULT_WRAP_OVERHEAD). */
  readonly wrapOverhead?: number;
}

/**
 * Outgoing side: LDAP bytes in, SASL buffers out, ready for the socket in
 * order. Each piece is at most maxBufferSize − wrapOverhead bytes, so that
 * its token fits; a token that does not is refused, not sent.
 */
export function createSaslWriter(options: SaslWriterOptions): (data: Uint8Array) => Buffer[] {
  const { maxBufferSize, wrap } = options;
  const overhead = options.wrapOverhead ?? DEFAULT_WRAP_OVERHEAD;
  if (!Number.isInteger(maxBufferSize) || maxBufferSize > MAX_SASL_BUFFER) {
    throw new RangeError(`SASL buffer size ${maxBufferSize}: at most ${MAX_SASL_BUFFER}`);
  }
  if (maxBufferSize <= overhead) {
    throw new SaslLayerError(
      'SASL_SERVER_BUFFER_TOO_SMALL',
      `a SASL buffer of ${maxBufferSize} bytes cannot carry data wrapped with up to ${overhead} bytes of overhead`,
    );
  }
  const maxPiece = maxBufferSize - overhead;
  return (data) => splitForWrap(data, maxPiece).map((piece) => frameSaslBuffer(wrap(piece), maxBufferSize));
}
