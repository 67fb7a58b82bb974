/**
 * The LDAP messages of a SASL GSSAPI bind (and of StartTLS before it), sent
 * on our own socket before ldapts gets it. ldapts sends SASL binds for a few
 * mechanisms only, in one round trip, with credentials as UTF-8 text, and
 * throws on saslBindInProgress (LAB.md); a GSSAPI bind is three round trips
 * of binary tokens. So these few messages are encoded and read here (BER,
 * RFC 4511 4.2 and 4.12), and ldapts only ever sees the bound session.
 *
 * Only what a bind needs is read: the message id, the operation, the result
 * code, the diagnostic message and serverSaslCreds. A response is bounded by
 * MAX_BIND_RESPONSE_BYTES before it is buffered.
 */
import type * as net from 'node:net';
import { readFrameHeader } from '../read-bounds.js';

const BIND_REQUEST = 0x60;
const BIND_RESPONSE = 0x61;
const EXTENDED_REQUEST = 0x77;
const EXTENDED_RESPONSE = 0x78;
const SASL_CREDENTIALS = 0xa3;
const SERVER_SASL_CREDS = 0x87;
const REQUEST_NAME = 0x80;

export const START_TLS_OID = '1.3.6.1.4.1.1466.20037';
/** A bind response holds one GSSAPI token (an AP-REP with its PAC is a few KiB). */
export const MAX_BIND_RESPONSE_BYTES = 256 * 1024;

/** Result codes a GSSAPI bind branches on (RFC 4511 A.1). */
export const RESULT = {
  success: 0,
  protocolError: 2,
  authMethodNotSupported: 7,
  strongerAuthRequired: 8,
  saslBindInProgress: 14,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  unwillingToPerform: 53,
} as const;

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

function integer(tag: number, value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return tlv(tag, Buffer.from(bytes));
}

function message(id: number, op: Buffer): Buffer {
  return tlv(0x30, Buffer.concat([integer(0x02, id), op]));
}

/** BindRequest, version 3, empty name, SASL `mechanism` with `credentials` (absent when null). */
export function encodeSaslBind(id: number, mechanism: string, credentials: Buffer | null): Buffer {
  const sasl = [tlv(0x04, Buffer.from(mechanism, 'utf8'))];
  if (credentials !== null) sasl.push(tlv(0x04, credentials));
  return message(
    id,
    tlv(
      BIND_REQUEST,
      Buffer.concat([
        integer(0x02, 3),
        tlv(0x04, Buffer.alloc(0)),
        tlv(SASL_CREDENTIALS, Buffer.concat(sasl)),
      ]),
    ),
  );
}

export function encodeStartTls(id: number): Buffer {
  return message(id, tlv(EXTENDED_REQUEST, tlv(REQUEST_NAME, Buffer.from(START_TLS_OID, 'ascii'))));
}

export interface LdapResponse {
  readonly messageId: number;
  readonly operation: 'bind' | 'extended';
  readonly resultCode: number;
  readonly diagnosticMessage: string;
  /** BindResponse's serverSaslCreds; null when absent. */
  readonly serverSaslCreds: Buffer | null;
}

export class BindWireError extends Error {
  constructor(detail: string) {
    super(`malformed LDAP response during the bind: ${detail}`);
    this.name = 'BindWireError';
  }
}

class Reader {
  private at: number;
  constructor(
    private readonly bytes: Buffer,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.at = start;
  }
  get done(): boolean {
    return this.at >= this.end;
  }
  /** One TLV: its tag and a reader over its content. */
  next(): { tag: number; content: Buffer } {
    const tag = this.bytes[this.at];
    const first = this.bytes[this.at + 1];
    if (tag === undefined || first === undefined) throw new BindWireError('truncated element');
    let n = first;
    let header = 2;
    if (first & 0x80) {
      const count = first & 0x7f;
      if (count === 0 || count > 4) throw new BindWireError('unsupported length');
      n = 0;
      for (let i = 0; i < count; i++) {
        const b = this.bytes[this.at + 2 + i];
        if (b === undefined) throw new BindWireError('truncated length');
        n = n * 256 + b;
      }
      header += count;
    }
    const start = this.at + header;
    if (start + n > this.end) throw new BindWireError('element longer than its message');
    this.at = start + n;
    return { tag, content: this.bytes.subarray(start, start + n) };
  }
}

function readInteger(content: Buffer): number {
  if (content.length === 0 || content.length > 4) throw new BindWireError('bad integer');
  let v = 0;
  for (const b of content) v = v * 256 + b;
  return v;
}

/** Reads one whole LDAPMessage (as framed by readFrameHeader). */
export function decodeResponse(bytes: Buffer): LdapResponse {
  const outer = new Reader(bytes).next();
  if (outer.tag !== 0x30) throw new BindWireError(`tag 0x${outer.tag.toString(16)}`);
  const fields = new Reader(outer.content);
  const id = fields.next();
  if (id.tag !== 0x02) throw new BindWireError('no message id');
  const op = fields.next();
  if (op.tag !== BIND_RESPONSE && op.tag !== EXTENDED_RESPONSE) {
    throw new BindWireError(`operation 0x${op.tag.toString(16)} where a bind or extended response belongs`);
  }
  const result = new Reader(op.content);
  const code = result.next();
  if (code.tag !== 0x0a) throw new BindWireError('no result code');
  const matched = result.next();
  const diagnostic = result.next();
  if (matched.tag !== 0x04 || diagnostic.tag !== 0x04) throw new BindWireError('bad LDAPResult');
  let serverSaslCreds: Buffer | null = null;
  // Past the result: a referral, serverSaslCreds, or an extended response's name and value; only
  // serverSaslCreds is needed.
  while (!result.done) {
    const element = result.next();
    if (element.tag === SERVER_SASL_CREDS && op.tag === BIND_RESPONSE)
      serverSaslCreds = Buffer.from(element.content);
  }
  return {
    messageId: readInteger(id.content),
    operation: op.tag === BIND_RESPONSE ? 'bind' : 'extended',
    resultCode: readInteger(code.content),
    diagnosticMessage: diagnostic.content.toString('utf8'),
    serverSaslCreds,
  };
}

/**
 * Sends one request and reads its one response from the socket. Bytes past the response are not
 * expected (the server sends nothing until asked) and are refused, never handed on.
 */
export function exchange(socket: net.Socket, request: Buffer, expectedId: number): Promise<LdapResponse> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let buffered = 0;
    const finish = (error: Error | null, response?: LdapResponse): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve(response as LdapResponse);
    };
    /** The response once whole, an Error when it cannot be one, null while more is to come. */
    const read = (): LdapResponse | Error | null => {
      const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      chunks = [all];
      const header = readFrameHeader((i) => all[i]);
      if (header.kind === 'incomplete') return null;
      if (header.kind === 'malformed') return new BindWireError(header.detail);
      const total = header.headerBytes + header.contentBytes;
      if (total > MAX_BIND_RESPONSE_BYTES) {
        return new BindWireError(`a ${total}-byte response, more than ${MAX_BIND_RESPONSE_BYTES} for a bind`);
      }
      if (buffered < total) return null;
      if (buffered > total) return new BindWireError('data after the response, before the next request');
      try {
        const response = decodeResponse(all);
        if (response.messageId === 0) {
          return new BindWireError(
            `the server ended the session: ${response.diagnosticMessage || 'notice of disconnection'}`,
          );
        }
        if (response.messageId !== expectedId) {
          return new BindWireError(`response to message ${response.messageId}, not ${expectedId}`);
        }
        return response;
      } catch (err) {
        return err instanceof Error ? err : new BindWireError(String(err));
      }
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      buffered += chunk.length;
      const outcome = read();
      if (outcome instanceof Error) finish(outcome);
      else if (outcome !== null) finish(null, outcome);
    };
    const onError = (err: Error): void => finish(err);
    const onClose = (): void =>
      finish(Object.assign(new Error('connection closed during the bind'), { code: 'ECONNRESET' }));
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.write(request);
  });
}
