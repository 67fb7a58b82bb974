/**
 * Whether a directory can say what changed, and where it stands now.
 *
 * Active Directory: the DC's highestCommittedUSN (RootDSE), valid only with
 * the DC's name and its DSA object's invocationId (a DC restored from backup
 * gets a new one and reuses USNs). OpenLDAP: modifyTimestamp (1 s
 * resolution). slapd keeps contextCSN on the suffix only with the syncprov
 * overlay; without it (dirgate's test slapd) the watermark is the newest
 * modifyTimestamp under the search base, found by a paged read of that one
 * attribute over the entries stamped lately. Both are server time, but a
 * quiet directory's newest stamp never moves: the watermark is therefore
 * never older than the gateway's clock less a skew allowance (see
 * clockSkewSeconds), a bound on how long a burst of writes is re-read.
 */
import type { LdapConnection } from '../client.js';
import { EntryValues } from '../entry-decoder.js';
import { LdapError } from '../errors.js';
import { decodeObjectGuid } from '../guid.js';
import type { RootDse } from '../root-dse.js';
import type { LdapLimits } from '../types.js';
import { changeLogState } from './access-log.js';
import type { Watermark } from './types.js';
import {
  csnTime,
  formatGeneralizedTime,
  laterTime,
  parseGeneralizedTime,
  TIMESTAMP_OVERLAP_SECONDS,
  timestampFilter,
} from './watermark.js';

export type ChangeTracking =
  | { readonly supported: true; readonly watermark: Watermark }
  | { readonly supported: false; readonly reason: string };

export interface ChangeTrackingOptions {
  readonly limits: Pick<LdapLimits, 'pageSize'>;
  /**
   * TIMESTAMP without contextCSN: the previous watermark's time. Only entries
   * stamped since then (less the overlap) are scanned for the newest, so the
   * cost follows the changes; without it every entry's modifyTimestamp is read once.
   */
  readonly sinceTime?: string | undefined;
  /**
   * TIMESTAMP: how far the server's clock may be behind the gateway's (default 300 s, Kerberos'
   * bound). The watermark is never older than the gateway's now less this, so a burst of writes
   * (a bulk load stamped in one second) is re-read for at most this long, not until the next write.
   */
  readonly clockSkewSeconds?: number | undefined;
  /** The gateway's clock (tests). */
  readonly now?: (() => Date) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Default ChangeTrackingOptions.clockSkewSeconds. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 300;

/** A search the server refused (no such attribute, no access) says "not here", not "broken". */
function refused(err: unknown): boolean {
  return err instanceof LdapError && err.code === 'SEARCH_FAILED';
}

/** Lets through only a refusal; a dead connection or an abort must surface. */
async function tolerant<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    if (refused(err)) return null;
    throw err;
  }
}

async function activeDirectory(
  connection: LdapConnection,
  readAt: string,
  signal?: AbortSignal,
): Promise<ChangeTracking> {
  // Read fresh, not the session's RootDSE: the USN must be the one from BEFORE the changes are read.
  const root = await connection.search(
    '',
    { scope: 'base', attributes: ['highestCommittedUSN', 'dsServiceName', 'dnsHostName'] },
    signal,
  );
  const values = new EntryValues(root.searchEntries[0] ?? { dn: '' });
  const usn = values.first('highestCommittedUSN');
  const dsServiceName = values.first('dsServiceName');
  if (!usn || !/^\d+$/.test(usn))
    return { supported: false, reason: 'the RootDSE has no highestCommittedUSN' };
  if (!dsServiceName) return { supported: false, reason: 'the RootDSE has no dsServiceName' };
  const dsa = await tolerant(() =>
    connection.search(
      dsServiceName,
      {
        scope: 'base',
        attributes: ['invocationId'],
        // Matched case-sensitively against the server's spelling (LAB.md): both usual ones.
        explicitBufferAttributes: ['invocationId', 'invocationID'],
      },
      signal,
    ),
  );
  const raw = dsa?.searchEntries[0]
    ? new EntryValues(dsa.searchEntries[0]).raw('invocationId')[0]
    : undefined;
  const invocationId = raw === undefined ? null : decodeObjectGuid(raw);
  if (!invocationId) {
    return {
      supported: false,
      reason: `the invocationId of ${dsServiceName} is not readable by this account`,
    };
  }
  return {
    supported: true,
    watermark: {
      kind: 'USN',
      server: values.first('dnsHostName') ?? connection.url,
      invocationId,
      usn,
      readAt,
    },
  };
}

/** The naming context holding the search base: where slapd keeps contextCSN. */
function suffixOf(rootDse: RootDse, searchBase: string): string {
  const base = searchBase.toLowerCase();
  let best = searchBase;
  for (const context of rootDse.namingContexts) {
    const lower = context.toLowerCase();
    if (
      (base === lower || base.endsWith(`,${lower}`)) &&
      (best === searchBase || context.length < best.length)
    ) {
      best = context;
    }
  }
  return best;
}

async function openLdap(
  connection: LdapConnection,
  rootDse: RootDse,
  searchBase: string,
  options: ChangeTrackingOptions,
): Promise<ChangeTracking> {
  const { signal } = options;
  // Does the server keep modifyTimestamp and order it? The base entry answers if it does.
  const probe = await tolerant(() =>
    connection.search(
      searchBase,
      { scope: 'base', filter: '(modifyTimestamp>=19700101000000Z)', attributes: ['modifyTimestamp'] },
      signal,
    ),
  );
  if (!probe || probe.searchEntries.length === 0) {
    return {
      supported: false,
      reason: `${searchBase} has no modifyTimestamp that a (modifyTimestamp>=…) filter matches`,
    };
  }
  const suffix = suffixOf(rootDse, searchBase);
  const context = await tolerant(() =>
    connection.search(suffix, { scope: 'base', attributes: ['contextCSN'] }, signal),
  );
  const csns = context?.searchEntries[0]
    ? new EntryValues(context.searchEntries[0]).strings('contextCSN')
    : [];
  // One contextCSN per provider (serverID) in multi-provider setups: the newest counts.
  let time: string | null = null;
  let contextCsn: string | null = null;
  for (const csn of csns) {
    const at = csnTime(csn);
    if (at && (time === null || at > time || (at === time && csn > (contextCsn ?? '')))) {
      time = at;
      contextCsn = csn;
    }
  }
  const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const now = (options.now ?? (() => new Date()))();
  // The log as it stands before the changes are read: a later read trusts it only if it was there.
  const changeLog = await changeLogState(connection, rootDse, searchBase, signal);
  const floor = formatGeneralizedTime(new Date(now.getTime() - Math.max(0, skew) * 1000));
  const since = options.sinceTime && parseGeneralizedTime(options.sinceTime) ? options.sinceTime : null;
  // Only entries stamped after the floor (or the previous watermark) are scanned for the newest:
  // older ones cannot move the watermark, so the cost follows the changes.
  const from = since ? laterTime(since, floor) : floor;
  time = laterTime(time ?? (await newestModifyTimestamp(connection, searchBase, from, options)), floor);
  return {
    supported: true,
    watermark: {
      kind: 'TIMESTAMP',
      server: connection.url,
      time,
      contextCsn,
      readAt: now.toISOString(),
      changeLog,
    },
  };
}

/** The newest modifyTimestamp under the base stamped since `since` (less the overlap); at least `since`. */
async function newestModifyTimestamp(
  connection: LdapConnection,
  searchBase: string,
  since: string,
  options: ChangeTrackingOptions,
): Promise<string> {
  let newest = since;
  const pages = connection.pages(
    searchBase,
    {
      scope: 'sub',
      filter: timestampFilter(since, TIMESTAMP_OVERLAP_SECONDS),
      attributes: ['modifyTimestamp'],
      pageSize: options.limits.pageSize,
    },
    options.signal,
  );
  const values = new EntryValues();
  for await (const page of pages) {
    for (const entry of page.searchEntries) {
      const stamp = values.load(entry).first('modifyTimestamp');
      const date = stamp ? parseGeneralizedTime(stamp) : null;
      if (!stamp || !date) continue;
      const whole = stamp.replace(/[.,]\d+Z$/, 'Z');
      newest = laterTime(newest, whole);
    }
  }
  return newest;
}

/**
 * Whether changes can be read from this server, and its watermark now. Read
 * it BEFORE reading changes (or a full read): whatever is committed
 * meanwhile is then read again next time rather than missed.
 */
export async function changeTracking(
  connection: LdapConnection,
  rootDse: RootDse,
  searchBase: string,
  options: ChangeTrackingOptions,
): Promise<ChangeTracking> {
  if (rootDse.flavour === 'ACTIVE_DIRECTORY') {
    return activeDirectory(connection, (options.now ?? (() => new Date()))().toISOString(), options.signal);
  }
  return openLdap(connection, rootDse, searchBase, options);
}
