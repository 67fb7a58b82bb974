/**
 * Default bounds of an LDAP session (see LdapLimits for what each covers),
 * and the refusals that say which bound a directory went past. A hostile or
 * broken server decides what it sends: every size that would otherwise grow
 * with its answers has a bound, and going past one ends the read with a
 * DirectoryLimitError naming it and the setting that raises it.
 */
import { DirectoryLimitError } from './errors.js';
import type { ConnectionStep, LdapLimits } from './types.js';

export const DEFAULT_LIMITS: LdapLimits = Object.freeze({
  dnsTimeoutMs: 3_000,
  connectTimeoutMs: 5_000,
  operationTimeoutMs: 30_000,
  pageSize: 1_000,
  // AD's MaxValRange: asking more than the server returns at once only costs an extra round trip.
  rangeSize: 1_500,
  dnsServers: Object.freeze([]) as readonly string[],
  // One message is one entry (or a page's end): OpenLDAP and Samba send a group's members in one
  // attribute, and 500,000 member DNs are about 30 MiB.
  maxMessageBytes: 64 * 1024 * 1024,
  maxEntries: 2_000_000,
  maxValuesPerAttribute: 1_000_000,
  kerberosFolder: null,
});

/** The settings that raise each bound (src/config/environment.ts), as errors name them. */
export const LIMIT_SETTINGS = Object.freeze({
  maxMessageBytes: 'DIRGATE_LDAP_MAX_MESSAGE_BYTES',
  maxEntries: 'DIRGATE_LDAP_MAX_ENTRIES',
  maxValuesPerAttribute: 'DIRGATE_LDAP_MAX_VALUES',
});

/** 16777216 → "16 MiB"; sizes that are not whole MiB or KiB in bytes. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

export function messageTooLarge(
  length: number,
  limits: LdapLimits,
  step: ConnectionStep,
  server: string | null,
): DirectoryLimitError {
  return new DirectoryLimitError(
    'MESSAGE_TOO_LARGE',
    `the directory sent a message of ${length} bytes, over the limit of ${formatBytes(limits.maxMessageBytes)} (${LIMIT_SETTINGS.maxMessageBytes})`,
    step,
    server,
  );
}

export function malformedMessage(
  detail: string,
  step: ConnectionStep,
  server: string | null,
): DirectoryLimitError {
  return new DirectoryLimitError(
    'MALFORMED_MESSAGE',
    `the directory sent data that is not an LDAP message (${detail})`,
    step,
    server,
  );
}

export function tooManyEntries(limits: LdapLimits, server: string | null): DirectoryLimitError {
  return new DirectoryLimitError(
    'TOO_MANY_ENTRIES',
    `the directory sent more than ${limits.maxEntries} entries in one run, over the limit (${LIMIT_SETTINGS.maxEntries})`,
    'SEARCH',
    server,
  );
}

export function tooManyValues(
  attribute: string,
  dn: string,
  limits: LdapLimits,
  server: string | null,
): DirectoryLimitError {
  return new DirectoryLimitError(
    'TOO_MANY_VALUES',
    `the directory sent more than ${limits.maxValuesPerAttribute} values of ${attribute} on ${dn}, over the limit (${LIMIT_SETTINGS.maxValuesPerAttribute})`,
    'SEARCH',
    server,
  );
}

export function pagingLoop(page: number, server: string | null): DirectoryLimitError {
  return new DirectoryLimitError(
    'PAGING_LOOP',
    `the directory answered page ${page} of a paged search with a cookie it had already sent, from the same entry again: it would page forever`,
    'SEARCH',
    server,
  );
}

/**
 * The entries one run may receive, shared by every connection of its
 * session (users, groups and contacts are read in parallel, each on its
 * own). Counted as they arrive, before a page is complete: ldapts keeps a
 * page's entries until its end, and a server need not send one.
 */
export class EntryBudget {
  private received = 0;

  constructor(private readonly limits: LdapLimits) {}

  get count(): number {
    return this.received;
  }

  /** One more entry (or continuation reference); throws once the run is over its bound. */
  take(server: string | null): void {
    this.received++;
    if (this.received > this.limits.maxEntries) throw tooManyEntries(this.limits, server);
  }
}
