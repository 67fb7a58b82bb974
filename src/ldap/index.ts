/**
 * The LDAP layer's public API. Modules outside src/ldap/ import from here
 * (or the types of ./types.ts) only, so the modules behind it may change
 * (.dependency-cruiser.cjs checks it).
 */

export { computeEmails, type EmailSet, type ProxySmtpAddress, parseProxyAddresses } from './addresses.js';
export type { ChangeSetRead } from './changes/change-set.js';
export type { DeletionMethod } from './changes/deletions.js';
export { type ChangeRefusal, WatermarkRefusedError } from './changes/errors.js';
export type { ChangeTracking } from './changes/tracking.js';
export type { ChangeSet } from './changes/types.js';
export {
  AbortedError,
  AD_BIND_REASONS,
  BindError,
  ConnectError,
  DnsDiscoveryError,
  LdapError,
  type LdapErrorCode,
  NoServerAvailableError,
  SearchError,
  type ServerAttempt,
  TimeoutError,
  TlsError,
  TlsRequiredError,
} from './errors.js';
export { filterProblem } from './filter-check.js';
export { guidToBytes, guidToString } from './guid.js';
export { KeytabError, type KeytabErrorCode, parseKeytab } from './kerberos/keytab.js';
export { checkKeytab, type KeytabSummary, type KeytabWarning } from './kerberos/keytab-check.js';
export { DEFAULT_LIMITS } from './limits.js';
export type { ReadStats } from './reader.js';
export { type ChangeReadOptions, type DirectorySession, openSession } from './session.js';
export { type DiscoveryResult, discoverServers, orderSrvRecords } from './srv-discovery.js';
export { testConnection } from './test-connection.js';
export type {
  ConnectionStep,
  ConnectionTestReport,
  DirectoryFlavour,
  KnownIds,
  LdapLimits,
  LdapSettings,
  MappedAttribute,
  RawEntry,
  ReadOverrides,
  StepReport,
  TlsMode,
} from './types.js';
