/**
 * A failed Kerberos call, as an administrator can act on it. The addon
 * gives the krb5 error code (`minor`); MIT's text after it is kept, since
 * it names the realm or principal concerned. Codes from krb5/krb5.h
 * (MIT 1.20); docs/kerberos-lab.md has what each case looked like here.
 */
import { KerberosError, type KerberosErrorCode } from '../errors.js';
import type { ConnectionStep } from '../types.js';
import { isGssFailure } from './gssapi.js';

const KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN = -1765328378;
const KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN = -1765328377;
const KRB5KDC_ERR_CLIENT_REVOKED = -1765328366;
const KRB5KDC_ERR_KEY_EXP = -1765328361;
const KRB5KDC_ERR_PREAUTH_FAILED = -1765328360;
const KRB5KRB_AP_ERR_BAD_INTEGRITY = -1765328353;
const KRB5KRB_AP_ERR_SKEW = -1765328347;
const KRB5KRB_AP_ERR_MODIFIED = -1765328343;
const KRB5KRB_AP_ERR_BADKEYVER = -1765328340;
const KRB5_KDCREP_SKEW = -1765328236;
const KRB5_REALM_UNKNOWN = -1765328230;
const KRB5_KDC_UNREACH = -1765328228;
const KRB5_REALM_CANT_RESOLVE = -1765328164;

const BY_CODE = new Map<number, KerberosErrorCode>([
  [KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN, 'KERBEROS_PRINCIPAL_UNKNOWN'],
  [KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN, 'SPN_MISSING'],
  [KRB5KDC_ERR_CLIENT_REVOKED, 'KERBEROS_ACCOUNT_DISABLED'],
  [KRB5KDC_ERR_KEY_EXP, 'KERBEROS_ACCOUNT_DISABLED'],
  [KRB5KDC_ERR_PREAUTH_FAILED, 'KERBEROS_KEY_MISMATCH'],
  [KRB5KRB_AP_ERR_BAD_INTEGRITY, 'KERBEROS_KEY_MISMATCH'],
  [KRB5KRB_AP_ERR_MODIFIED, 'KERBEROS_KEY_MISMATCH'],
  [KRB5KRB_AP_ERR_BADKEYVER, 'KERBEROS_KEY_MISMATCH'],
  [KRB5KRB_AP_ERR_SKEW, 'CLOCK_SKEW'],
  [KRB5_KDCREP_SKEW, 'CLOCK_SKEW'],
  [KRB5_KDC_UNREACH, 'KDC_UNREACHABLE'],
  [KRB5_REALM_UNKNOWN, 'KDC_NOT_FOUND'],
  [KRB5_REALM_CANT_RESOLVE, 'KDC_NOT_FOUND'],
]);

export interface FailureContext {
  readonly principal: string;
  readonly realm: string;
  /** The keytab's newest key version. */
  readonly kvno: number;
  /** The LDAP server's name, as the SPN has it. */
  readonly host: string;
  /** The KDCs asked, for messages. */
  readonly kdcs: string;
  readonly step: ConnectionStep;
  readonly server: string;
}

export function kerberosFailure(err: unknown, context: FailureContext): KerberosError {
  if (err instanceof KerberosError) return err;
  const text = err instanceof Error ? err.message : String(err);
  const code = isGssFailure(err) ? (BY_CODE.get(err.minor) ?? 'KERBEROS_FAILED') : 'KERBEROS_FAILED';
  const { principal, realm, kvno, host, kdcs } = context;
  const messages: Record<KerberosErrorCode, string> = {
    KDC_UNREACHABLE: `cannot reach a KDC of ${realm} (${kdcs}): check the connection's kdcs (or the SRV records) and that the KDC's port is open`,
    KDC_NOT_FOUND: `no KDC known for ${realm} (${kdcs})`,
    KERBEROS_PRINCIPAL_UNKNOWN: `the KDC of ${realm} does not know ${principal}: the account was deleted or renamed after its keytab was exported; export a keytab of the account the gateway binds as`,
    KERBEROS_KEY_MISMATCH: `the KDC refused the keytab's key of ${principal} (key version ${kvno}): the account's password was changed after the keytab was exported (the account's key version is newer), or the keytab holds another account's keys; export the keytab again`,
    KERBEROS_ACCOUNT_DISABLED: `${principal} may not get tickets: the account is disabled, locked or expired`,
    CLOCK_SKEW: `the clocks of this machine and of the KDC of ${realm} differ by more than the realm allows (5 minutes by default): set the time right (NTP) here or on the domain controllers`,
    SPN_MISSING: `${realm} has no service principal ldap/${host}: name the directory server in the server URL by the DNS name its SPN has (not an IP address or an alias; no reverse lookup is made), or add the SPN (setspn -S ldap/${host} <DC account>)`,
    SASL_LAYER_REFUSED: 'the server refused the SASL security layer',
    KERBEROS_UNAVAILABLE: 'Kerberos is not available',
    KERBEROS_FAILED: `Kerberos authentication of ${principal} to ldap/${host} failed`,
  };
  return new KerberosError(code, `${messages[code]} (${text})`, context.step, context.server, err);
}
