/**
 * The socket ldapts gets after a GSSAPI bind with a security layer: plain
 * LDAP bytes on its side, SASL buffers (RFC 4422 3.7: a 4-byte length and
 * a gss_wrap token) on the wire. Every message after the bind goes through
 * here, paged searches and range retrieval alike, so ldapts needs no change.
 *
 * It passes for a connected net.Socket (ldapts checks `connecting` and
 * `readyState`, and listens for data, end, close, error and timeout).
 * Anything wrong on the wire (a buffer over the size we announced, a token
 * that does not unwrap, an unsealed token on a sealed session) destroys it,
 * which fails the pending operation at once; so does the TCP socket ending.
 */
import type * as net from 'node:net';
import { Duplex } from 'node:stream';
import type { GssapiClient } from './gssapi.js';
import { createSaslWriter, type NegotiatedLayer, SaslBufferReader, SaslLayerError } from './sasl-layer.js';

export class SaslSocket extends Duplex {
  readonly connecting = false;
  readonly readyState = 'open';
  private readonly raw: net.Socket;
  private readonly gss: GssapiClient;
  private readonly reader: SaslBufferReader;
  private readonly write$: (data: Uint8Array) => Buffer[];
  private readonly sealed: boolean;

  constructor(raw: net.Socket, gss: GssapiClient, layer: NegotiatedLayer) {
    super({ allowHalfOpen: false });
    this.raw = raw;
    this.gss = gss;
    this.sealed = layer.layer === 'confidentiality';
    this.reader = new SaslBufferReader(layer.clientMaxBuffer);
    // gss_wrap_size_limit says exactly what fits; the writer's overhead is the difference.
    const maxPiece = gss.wrapSizeLimit(this.sealed, layer.serverMaxBuffer);
    this.write$ = createSaslWriter({
      maxBufferSize: layer.serverMaxBuffer,
      wrap: (piece) => gss.wrap(piece, this.sealed),
      wrapOverhead: Math.max(1, layer.serverMaxBuffer - maxPiece),
    });
    raw.on('data', (chunk: Buffer) => this.receive(chunk));
    raw.on('end', () => {
      try {
        this.reader.end();
        this.push(null);
      } catch (err) {
        this.destroy(err as Error);
      }
    });
    raw.on('error', (err) => this.destroy(err));
    raw.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  /** What ldapts may call on a socket; the TCP socket under us has its own settings (client.ts). */
  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }

  override _read(): void {
    // Data is pushed as it arrives; the TCP socket's own buffering bounds it.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    let frames: Buffer[];
    try {
      frames = this.write$(chunk);
    } catch (err) {
      done(err as Error);
      return;
    }
    this.raw.write(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames), done);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.raw.end();
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.raw.destroy();
    this.gss.release();
    done(error);
  }

  private receive(chunk: Buffer): void {
    try {
      for (const token of this.reader.push(chunk)) {
        const { data, confidential } = this.gss.unwrap(token);
        if (this.sealed && !confidential) {
          throw new SaslLayerError(
            'SASL_BAD_BUFFER',
            'the server sent an unsealed buffer on a sealed session',
          );
        }
        this.push(data);
      }
    } catch (err) {
      this.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
