/**
 * Domain errors of the LDAP layer. Callers (sync engine, testConnection,
 * GraphQL) branch on the class or on `code`, never on message text; each
 * error names the step of the connection path that failed and the server.
 *
 * Messages never contain the bind password: the server's own diagnostic text
 * is kept (it helps administrators), but every known secret is scrubbed from
 * it before an error is built.
 */
import {
  AuthMethodNotSupportedError,
  ConfidentialityRequiredError,
  InappropriateAuthError,
  InvalidCredentialsError,
  OperationsError,
  ResultCodeError,
  StrongAuthRequiredError,
  TimeLimitExceededError,
  TLSNotSupportedError,
} from 'ldapts';
import type { ConnectionStep } from './types.js';

export type LdapErrorCode =
  | DnsDiscoveryError['code']
  | ConnectError['code']
  | TlsError['code']
  | TlsRequiredError['code']
  | BindError['code']
  | SearchError['code']
  | TimeoutError['code']
  | DirectoryLimitError['code']
  | NoServerAvailableError['code']
  | KerberosError['code']
  | AbortedError['code'];

export abstract class LdapError extends Error {
  abstract readonly code: string;
  readonly step: ConnectionStep;
  /** URL (or, for DNS, the name queried) the error concerns; null when none applies. */
  readonly server: string | null;

  protected constructor(message: string, step: ConnectionStep, server: string | null, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.step = step;
    this.server = server;
  }
}

export type DnsErrorCode =
  | 'NO_SRV_RECORDS'
  /** Every SRV target named a host outside the connection's domain (srv-discovery.ts). */
  | 'SRV_TARGETS_OUTSIDE_DOMAIN'
  | 'DNS_TIMEOUT'
  | 'DNS_FAILED'
  | 'HOST_NOT_FOUND';

export class DnsDiscoveryError extends LdapError {
  readonly code: DnsErrorCode;
  constructor(code: DnsErrorCode, message: string, name: string | null, cause?: unknown) {
    super(message, 'DNS', name, cause);
    this.code = code;
  }
}

export type ConnectErrorCode =
  | 'CONNECTION_REFUSED'
  | 'HOST_UNREACHABLE'
  | 'HOST_NOT_FOUND'
  | 'CONNECTION_LOST'
  | 'CONNECTION_FAILED';

export class ConnectError extends LdapError {
  readonly code: ConnectErrorCode;
  constructor(
    code: ConnectErrorCode,
    message: string,
    step: ConnectionStep,
    server: string | null,
    cause?: unknown,
  ) {
    super(message, step, server, cause);
    this.code = code;
  }
}

export type TlsErrorCode =
  | 'TLS_UNTRUSTED_CERTIFICATE'
  | 'TLS_NAME_MISMATCH'
  | 'TLS_CERTIFICATE_EXPIRED'
  | 'STARTTLS_REFUSED'
  | 'TLS_HANDSHAKE_FAILED';

export class TlsError extends LdapError {
  readonly code: TlsErrorCode;
  constructor(code: TlsErrorCode, message: string, server: string | null, cause?: unknown) {
    super(message, 'TLS', server, cause);
    this.code = code;
  }
}

/**
 * The server refuses a simple bind over an unencrypted connection. A hardened
 * AD answers this way whatever the password, so it must not read as "bad
 * credentials": the fix is StartTLS or LDAPS.
 */
export class TlsRequiredError extends LdapError {
  readonly code = 'TLS_REQUIRED' as const;
  constructor(server: string | null, detail: string | null, cause?: unknown) {
    super(
      `server requires TLS for simple bind (use StartTLS or LDAPS)${detail ? `: ${detail}` : ''}`,
      'BIND',
      server,
      cause,
    );
  }
}

export type BindErrorCode =
  | 'INVALID_CREDENTIALS'
  | 'EMPTY_PASSWORD'
  | 'BIND_REFUSED'
  /** A password bind without TLS on a connection that does not allow it (allowPlaintextBind). */
  | 'PLAINTEXT_BIND_REFUSED';

/** Active Directory's `data XXX` sub-codes of result 49, as documented by Microsoft. */
export const AD_BIND_REASONS: Readonly<Record<string, string>> = {
  '525': 'user not found',
  '52e': 'invalid credentials (wrong password or unknown user)',
  '530': 'logon not permitted at this time',
  '531': 'logon not permitted at this workstation',
  '532': 'password expired',
  '533': 'account disabled',
  '568': 'too many security IDs in the token',
  '701': 'account expired',
  '773': 'password must be reset',
  '775': 'account locked out',
};

export class BindError extends LdapError {
  readonly code: BindErrorCode;
  /** AD's `data XXX` sub-code (lowercase hex), when the server sent one. */
  readonly adDataCode: string | null;
  constructor(
    code: BindErrorCode,
    message: string,
    server: string | null,
    adDataCode: string | null,
    cause?: unknown,
  ) {
    super(message, 'BIND', server, cause);
    this.code = code;
    this.adDataCode = adDataCode;
  }
}

export type SearchErrorCode = 'SEARCH_FAILED' | 'BIND_REQUIRED';

export class SearchError extends LdapError {
  readonly code: SearchErrorCode;
  constructor(code: SearchErrorCode, message: string, server: string | null, cause?: unknown) {
    super(message, 'SEARCH', server, cause);
    this.code = code;
  }
}

/** A step exceeded its bound. The connection it ran on is dead and is never reused. */
export class TimeoutError extends LdapError {
  readonly code = 'TIMEOUT' as const;
  readonly timeoutMs: number | null;
  constructor(step: ConnectionStep, server: string | null, timeoutMs: number | null, cause?: unknown) {
    super(
      `${describeStep(step)} timed out${timeoutMs === null ? '' : ` after ${timeoutMs} ms`}`,
      step,
      server,
      cause,
    );
    this.timeoutMs = timeoutMs;
  }
}

export type DirectoryLimitCode =
  | 'MESSAGE_TOO_LARGE'
  | 'MALFORMED_MESSAGE'
  | 'TOO_MANY_ENTRIES'
  | 'TOO_MANY_VALUES'
  | 'PAGING_LOOP';

/**
 * The directory sent more than a bound allows (src/ldap/limits.ts): a
 * hostile or broken server must not exhaust the gateway. The connection it
 * came on is dead; the message names the bound and its setting.
 */
export class DirectoryLimitError extends LdapError {
  readonly code: DirectoryLimitCode;
  constructor(code: DirectoryLimitCode, message: string, step: ConnectionStep, server: string | null) {
    super(`${describeStep(step)} stopped${server ? ` at ${server}` : ''}: ${message}`, step, server);
    this.code = code;
  }
}

export class AbortedError extends LdapError {
  readonly code = 'ABORTED' as const;
  constructor(step: ConnectionStep, server: string | null) {
    super(`${describeStep(step)} aborted`, step, server);
  }
}

export interface ServerAttempt {
  readonly server: string;
  readonly step: ConnectionStep;
  readonly code: string;
  readonly message: string;
}

export type KerberosErrorCode =
  /** The GSSAPI addon is not built on this machine (no MIT krb5 headers at install time). */
  | 'KERBEROS_UNAVAILABLE'
  /** No KDC configured and none published in DNS (`_kerberos._tcp.<REALM>`). */
  | 'KDC_NOT_FOUND'
  | 'KDC_UNREACHABLE'
  /** The keytab's principal is not (any more) in the realm's database. */
  | 'KERBEROS_PRINCIPAL_UNKNOWN'
  /** The KDC refused the keytab's key: the password was changed after the export (wrong kvno), or another account's keys. */
  | 'KERBEROS_KEY_MISMATCH'
  | 'KERBEROS_ACCOUNT_DISABLED'
  | 'CLOCK_SKEW'
  /** The realm has no `ldap/<server name>` service principal. */
  | 'SPN_MISSING'
  /** The server refused the SASL security layer offered (or GSSAPI over this transport). */
  | 'SASL_LAYER_REFUSED'
  | 'KERBEROS_FAILED';

/**
 * A KERBEROS connection's failure, at the KERBEROS step (tickets from the KDC) or the BIND step
 * (the SASL exchange and its security layer). The message starts with the code: run records and
 * testConnection keep only the text, and administrators search for it.
 */
export class KerberosError extends LdapError {
  readonly code: KerberosErrorCode;
  constructor(
    code: KerberosErrorCode,
    message: string,
    step: ConnectionStep,
    server: string | null,
    cause?: unknown,
  ) {
    super(`${code}: ${message}`, step, server, cause);
    this.code = code;
  }
}

/** Every candidate server failed; `attempts` says which and why, in the order tried. */
export class NoServerAvailableError extends LdapError {
  readonly code = 'NO_SERVER_AVAILABLE' as const;
  readonly attempts: readonly ServerAttempt[];
  /** The error of each attempt, same order as `attempts`, for callers that branch on the class. */
  readonly causes: readonly LdapError[];
  constructor(attempts: readonly ServerAttempt[], causes: readonly LdapError[] = []) {
    const last = attempts.at(-1);
    super(
      attempts.length === 0
        ? 'no directory server to try'
        : `no directory server available: ${attempts.map((a) => `${a.server} (${a.step}: ${a.message})`).join('; ')}`,
      last?.step ?? 'DNS',
      null,
      causes.at(-1),
    );
    this.attempts = attempts;
    this.causes = causes;
  }
}

function describeStep(step: ConnectionStep): string {
  switch (step) {
    case 'DNS':
      return 'DNS lookup';
    case 'TCP':
      return 'TCP connect';
    case 'TLS':
      return 'TLS handshake';
    case 'KERBEROS':
      return 'Kerberos ticket request';
    case 'BIND':
      return 'bind';
    case 'SEARCH':
      return 'search';
  }
}

/** Node/OpenSSL certificate verification codes meaning "not signed by a CA we trust". */
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
]);
const EXPIRED_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const DNS_TIMEOUT_CODES = new Set(['ETIMEOUT', 'ETIMEDOUT']);
const DNS_NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

/**
 * ldapts reports transport failures as plain `Error`s without a class or a
 * code; only for these is the message text inspected.
 */
const LDAPTS_TIMEOUT = /Operation timed out|Connection timeout/;
const LDAPTS_CONNECTION_LOST =
  /Connection closed before message response|Socket connection not established|Socket error/;

function errorCode(err: unknown): string | null {
  if (typeof err !== 'object' || err === null || !('code' in err)) return null;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : null;
}

function rawMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Removes every secret (the bind password) from a text before it goes into an error. */
export function scrub(text: string, secrets: readonly (string | null | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length > 0) out = out.split(secret).join('***');
  }
  return out;
}

/** `data 52e` → '52e' (AD's sub-code inside the diagnostic message of result 49). */
export function adBindDataCode(message: string): string | null {
  const match = /\bdata ([0-9a-f]{3,8})\b/i.exec(message);
  return match?.[1]?.toLowerCase() ?? null;
}

/** ldapts appends " Code: 0x31"; the result code is already expressed by the class. */
function serverText(err: Error): string {
  return err.message.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
}

/**
 * Maps whatever ldapts, node:net, node:tls or node:dns threw into an
 * LdapError. Classes and node error codes decide; message text only for the
 * few ldapts transport errors that have neither.
 */
export function toLdapError(
  err: unknown,
  step: ConnectionStep,
  server: string | null,
  secrets: readonly (string | null | undefined)[] = [],
): LdapError {
  if (err instanceof LdapError) return err;
  const clean = (text: string): string => scrub(text, secrets);

  if (err instanceof ResultCodeError) {
    const text = clean(serverText(err));
    if (err instanceof StrongAuthRequiredError || err instanceof ConfidentialityRequiredError) {
      return new TlsRequiredError(server, text || null, err);
    }
    if (err instanceof InvalidCredentialsError) {
      const data = adBindDataCode(text);
      const reason = data ? AD_BIND_REASONS[data] : undefined;
      const detail = reason ? `${reason} (AD data ${data})` : text || 'invalid credentials';
      return new BindError('INVALID_CREDENTIALS', `bind refused: ${detail}`, server, data, err);
    }
    if (err instanceof TimeLimitExceededError) {
      return new TimeoutError(step, server, null, err);
    }
    if (step === 'TLS') {
      // StartTLS extended operation refused (unsupported, or already in TLS).
      return new TlsError('STARTTLS_REFUSED', `server refused StartTLS: ${text}`, server, err);
    }
    if (
      step === 'BIND' ||
      err instanceof InappropriateAuthError ||
      err instanceof AuthMethodNotSupportedError ||
      err instanceof TLSNotSupportedError
    ) {
      return new BindError('BIND_REFUSED', `bind refused: ${text}`, server, null, err);
    }
    if (err instanceof OperationsError && step === 'SEARCH') {
      // AD answers 000004DC / 00002020 "a successful bind must be completed" to anonymous searches.
      return new SearchError('BIND_REQUIRED', `search refused (bind required?): ${text}`, server, err);
    }
    return new SearchError('SEARCH_FAILED', `${err.name}: ${text}`, server, err);
  }

  if (err instanceof Error && err.name === 'AbortError') return new AbortedError(step, server);

  const code = errorCode(err);
  const message = clean(rawMessage(err));
  if (code !== null) {
    if (UNTRUSTED_CODES.has(code)) {
      return new TlsError(
        'TLS_UNTRUSTED_CERTIFICATE',
        `certificate not trusted (${code}): ${message}`,
        server,
        err,
      );
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return new TlsError(
        'TLS_NAME_MISMATCH',
        `certificate does not match the server name: ${message}`,
        server,
        err,
      );
    }
    if (EXPIRED_CODES.has(code)) {
      return new TlsError('TLS_CERTIFICATE_EXPIRED', `certificate not valid now (${code})`, server, err);
    }
    if (code.startsWith('ERR_SSL_') || code === 'EPROTO' || code.startsWith('ERR_TLS_')) {
      return new TlsError('TLS_HANDSHAKE_FAILED', `TLS handshake failed (${code}): ${message}`, server, err);
    }
    if (step === 'DNS') {
      if (DNS_TIMEOUT_CODES.has(code))
        return new DnsDiscoveryError('DNS_TIMEOUT', `DNS query timed out: ${message}`, server, err);
      if (DNS_NOT_FOUND_CODES.has(code))
        return new DnsDiscoveryError('HOST_NOT_FOUND', `name not found: ${message}`, server, err);
      return new DnsDiscoveryError('DNS_FAILED', `DNS query failed (${code}): ${message}`, server, err);
    }
    if (code === 'ECONNREFUSED')
      return new ConnectError('CONNECTION_REFUSED', `connection refused`, 'TCP', server, err);
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') {
      return new ConnectError('HOST_UNREACHABLE', `host unreachable (${code})`, 'TCP', server, err);
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
      return new ConnectError('HOST_NOT_FOUND', `host name not resolved (${code})`, 'TCP', server, err);
    }
    if (code === 'ETIMEDOUT') return new TimeoutError(step, server, null, err);
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') {
      // A reset during the handshake is most often a TLS/plain mismatch (ldaps:// to a plain port).
      return new ConnectError(
        'CONNECTION_LOST',
        `connection reset by the server (${code}) during ${describeStep(step)}`,
        step,
        server,
        err,
      );
    }
  }
  if (LDAPTS_TIMEOUT.test(message)) return new TimeoutError(step, server, null, err);
  if (LDAPTS_CONNECTION_LOST.test(message)) {
    return new ConnectError(
      'CONNECTION_LOST',
      `connection lost during ${describeStep(step)}: ${message.split('\n')[0]}`,
      step,
      server,
      err,
    );
  }
  if (step === 'SEARCH') return new SearchError('SEARCH_FAILED', message, server, err);
  if (step === 'BIND') return new BindError('BIND_REFUSED', `bind failed: ${message}`, server, null, err);
  if (step === 'TLS') return new TlsError('TLS_HANDSHAKE_FAILED', `TLS failed: ${message}`, server, err);
  if (step === 'DNS') return new DnsDiscoveryError('DNS_FAILED', message, server, err);
  return new ConnectError('CONNECTION_FAILED', message, step, server, err);
}
