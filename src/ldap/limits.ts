/** Default bounds of an LDAP session (see LdapLimits for what each covers). */
import type { LdapLimits } from './types.js';

export const DEFAULT_LIMITS: LdapLimits = Object.freeze({
  dnsTimeoutMs: 3_000,
  connectTimeoutMs: 5_000,
  operationTimeoutMs: 30_000,
  pageSize: 1_000,
  // AD's MaxValRange: asking more than the server returns at once only costs an extra round trip.
  rangeSize: 1_500,
  dnsServers: Object.freeze([]) as readonly string[],
});
