import {
  ConfidentialityRequiredError,
  InsufficientAccessError,
  InvalidCredentialsError,
  NoSuchObjectError,
  OperationsError,
  StrongAuthRequiredError,
  UnavailableError,
} from 'ldapts';
import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  adBindDataCode,
  BindError,
  ConnectError,
  DnsDiscoveryError,
  NoServerAvailableError,
  SearchError,
  scrub,
  TimeoutError,
  TlsError,
  TlsRequiredError,
  toLdapError,
} from '../../src/ldap/errors.js';

const SERVER = 'ldaps://dc1.corp.test:636';
const nodeError = (code: string, message = code): Error => Object.assign(new Error(message), { code });

describe('toLdapError', () => {
  it('maps StrongAuthRequiredError to TlsRequiredError, not to bad credentials', () => {
    const err = toLdapError(
      new StrongAuthRequiredError('BindSimple: Transport encryption required.'),
      'BIND',
      SERVER,
    );
    expect(err).toBeInstanceOf(TlsRequiredError);
    expect(err.code).toBe('TLS_REQUIRED');
    expect(err.step).toBe('BIND');
    expect(err.server).toBe(SERVER);
    expect(err.message).toMatch(/requires TLS/);
    expect(toLdapError(new ConfidentialityRequiredError('x'), 'BIND', SERVER)).toBeInstanceOf(
      TlsRequiredError,
    );
  });

  it('maps InvalidCredentialsError with the AD data code explained', () => {
    const ad = (data: string) =>
      new InvalidCredentialsError(
        `80090308: LdapErr: DSID-0C090439, comment: AcceptSecurityContext error, data ${data}, v4563`,
      );
    const wrong = toLdapError(ad('52e'), 'BIND', SERVER);
    expect(wrong).toBeInstanceOf(BindError);
    expect(wrong.code).toBe('INVALID_CREDENTIALS');
    expect((wrong as BindError).adDataCode).toBe('52e');
    expect(wrong.message).toMatch(/invalid credentials/);
    expect(toLdapError(ad('533'), 'BIND', SERVER).message).toMatch(/account disabled/);
    expect(toLdapError(ad('775'), 'BIND', SERVER).message).toMatch(/locked out/);
    const plain = toLdapError(new InvalidCredentialsError(), 'BIND', SERVER) as BindError;
    expect(plain.code).toBe('INVALID_CREDENTIALS');
    expect(plain.adDataCode).toBeNull();
  });

  it('maps certificate problems by node error code', () => {
    for (const code of [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    ]) {
      const err = toLdapError(nodeError(code, 'unable to verify the first certificate'), 'TLS', SERVER);
      expect(err).toBeInstanceOf(TlsError);
      expect(err.code).toBe('TLS_UNTRUSTED_CERTIFICATE');
      expect(err.step).toBe('TLS');
    }
    const mismatch = toLdapError(nodeError('ERR_TLS_CERT_ALTNAME_INVALID'), 'TLS', SERVER);
    expect(mismatch.code).toBe('TLS_NAME_MISMATCH');
    expect(toLdapError(nodeError('CERT_HAS_EXPIRED'), 'TLS', SERVER).code).toBe('TLS_CERTIFICATE_EXPIRED');
    expect(toLdapError(nodeError('ERR_SSL_WRONG_VERSION_NUMBER'), 'TLS', SERVER).code).toBe(
      'TLS_HANDSHAKE_FAILED',
    );
  });

  it('maps a refused StartTLS', () => {
    const err = toLdapError(new UnavailableError('StartTLS not supported'), 'TLS', SERVER);
    expect(err).toBeInstanceOf(TlsError);
    expect(err.code).toBe('STARTTLS_REFUSED');
  });

  it('maps transport failures', () => {
    expect(toLdapError(nodeError('ECONNREFUSED'), 'TCP', SERVER)).toMatchObject({
      code: 'CONNECTION_REFUSED',
      step: 'TCP',
    });
    expect(toLdapError(nodeError('EHOSTUNREACH'), 'TCP', SERVER).code).toBe('HOST_UNREACHABLE');
    expect(toLdapError(nodeError('ENOTFOUND'), 'TCP', SERVER).code).toBe('HOST_NOT_FOUND');
    expect(toLdapError(nodeError('ECONNRESET'), 'TLS', SERVER)).toBeInstanceOf(ConnectError);
    expect(toLdapError(new Error('SearchRequest: Operation timed out'), 'SEARCH', SERVER)).toBeInstanceOf(
      TimeoutError,
    );
    expect(toLdapError(new Error('Connection timeout'), 'TCP', SERVER)).toBeInstanceOf(TimeoutError);
    expect(
      toLdapError(
        new Error(
          'Connection closed before message response was received. Message type: SearchRequest (0x63)',
        ),
        'SEARCH',
        SERVER,
      ).code,
    ).toBe('CONNECTION_LOST');
  });

  it('maps DNS failures', () => {
    expect(toLdapError(nodeError('ETIMEOUT'), 'DNS', 'corp.test')).toMatchObject({ code: 'DNS_TIMEOUT' });
    expect(toLdapError(nodeError('ENOTFOUND'), 'DNS', 'corp.test')).toBeInstanceOf(DnsDiscoveryError);
    expect(toLdapError(nodeError('ESERVFAIL'), 'DNS', 'corp.test').code).toBe('DNS_FAILED');
  });

  it('maps search failures and keeps the connection story apart', () => {
    expect(toLdapError(new NoSuchObjectError('0000208D: NameErr'), 'SEARCH', SERVER)).toMatchObject({
      code: 'SEARCH_FAILED',
    });
    expect(
      toLdapError(new OperationsError('000004DC: successful bind must be completed'), 'SEARCH', SERVER),
    ).toMatchObject({ code: 'BIND_REQUIRED' });
    expect(toLdapError(new InsufficientAccessError('no'), 'BIND', SERVER)).toBeInstanceOf(BindError);
    expect(toLdapError(new InsufficientAccessError('no'), 'SEARCH', SERVER)).toBeInstanceOf(SearchError);
  });

  it('maps aborts and passes LdapErrors through', () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(toLdapError(abort, 'SEARCH', SERVER)).toBeInstanceOf(AbortedError);
    const already = new TimeoutError('BIND', SERVER, 100);
    expect(toLdapError(already, 'SEARCH', null)).toBe(already);
  });

  it('never lets the bind password into a message', () => {
    const secret = 'S3cr3t!pw';
    const err = toLdapError(new Error(`weird failure echoing ${secret} back`), 'BIND', SERVER, [secret]);
    expect(err.message).not.toContain(secret);
    expect(scrub(`a ${secret} b ${secret}`, [secret, null, ''])).toBe('a *** b ***');
  });
});

describe('adBindDataCode', () => {
  it('extracts the sub-code', () => {
    expect(adBindDataCode('AcceptSecurityContext error, data 52E, v4563')).toBe('52e');
    expect(adBindDataCode('nothing here')).toBeNull();
  });
});

describe('NoServerAvailableError', () => {
  it('lists each server and why', () => {
    const err = new NoServerAvailableError([
      {
        server: 'ldap://127.0.0.2:389',
        step: 'TCP',
        code: 'TIMEOUT',
        message: 'TCP connect timed out after 500 ms',
      },
      {
        server: 'ldap://127.0.0.3:389',
        step: 'TCP',
        code: 'CONNECTION_REFUSED',
        message: 'connection refused',
      },
    ]);
    expect(err.code).toBe('NO_SERVER_AVAILABLE');
    expect(err.message).toContain('ldap://127.0.0.2:389 (TCP: TCP connect timed out after 500 ms)');
    expect(err.message).toContain('ldap://127.0.0.3:389 (TCP: connection refused)');
    expect(err.attempts).toHaveLength(2);
  });
});
