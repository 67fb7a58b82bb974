/**
 * Deletions on OpenLDAP from its access log (slapo-accesslog), at the cost of
 * the change: the log database holds one entry per write (auditDelete,
 * auditModRDN, …) with reqStart, reqDN and, on slapd 2.5, reqEntryUUID.
 *
 * Measured on slapd 2.5.13 (test/integration/ldap-deletions.test.ts): the
 * directory's suffix entry names the log in `auditContext`; the log's root
 * entry has no minCSN until something is logged, then the first logged
 * write's CSN; a purge sets minCSN to the newest purged entry's CSN (that
 * entry is gone). So "the log holds every change after minCSN", and a log
 * whose minCSN entry is still there was never purged.
 *
 * A log is trusted for the window since a watermark only if nothing in the
 * window can be missing from it: logging was on when the watermark was read
 * (the watermark recorded the log) and no purge since removed an entry of the
 * window, or its minCSN is older than the window. Otherwise the caller
 * compares ids (correct, only dearer) and the next watermark records the log.
 */
import { dnKey } from '../../model/dn.js';
import type { ChangeLogState } from '../../model/watermark.js';
import type { LdapConnection } from '../client.js';
import { EntryValues } from '../entry-decoder.js';
import { LdapError } from '../errors.js';
import { normalizeEntryUuid } from '../guid.js';
import type { RootDse } from '../root-dse.js';
import type { KnownIds, LdapLimits } from '../types.js';
import { isUnder, namingContextOf } from './naming-context.js';
import { csnTime, formatGeneralizedTime, parseGeneralizedTime } from './watermark.js';

export type { ChangeLogState };

/** slapo-accesslog's usual suffix, tried when the directory does not name its log. */
const USUAL_LOG_BASE = 'cn=accesslog';

/** A refusal (no such object, no access) means "no log here"; a dead connection must surface. */
async function tolerant<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof LdapError && err.code === 'SEARCH_FAILED') return null;
    throw err;
  }
}

/** The log root's state, or null when `base` is no readable auditContainer. */
async function logRoot(
  connection: LdapConnection,
  base: string,
  signal?: AbortSignal,
): Promise<ChangeLogState | null> {
  const result = await tolerant(() =>
    connection.search(
      base,
      { scope: 'base', filter: '(objectClass=auditContainer)', attributes: ['minCSN'] },
      signal,
    ),
  );
  const entry = result?.searchEntries[0];
  if (!entry) return null;
  return { base, minCsn: new EntryValues(entry).first('minCSN') };
}

/**
 * The access log of the database holding `searchBase`, as it stands now; null
 * when there is none this account can read. Where the directory names it
 * (auditContext on its suffix entry) that log, else a naming context that is an
 * auditContainer, else `cn=accesslog`.
 */
export async function changeLogState(
  connection: LdapConnection,
  rootDse: RootDse,
  searchBase: string,
  signal?: AbortSignal,
): Promise<ChangeLogState | null> {
  if (rootDse.flavour === 'ACTIVE_DIRECTORY') return null;
  const suffix = namingContextOf(rootDse, searchBase);
  if (suffix) {
    const named = await tolerant(() =>
      connection.search(suffix, { scope: 'base', attributes: ['auditContext'] }, signal),
    );
    const context = named?.searchEntries[0]
      ? new EntryValues(named.searchEntries[0]).first('auditContext')
      : null;
    // The directory names its log: that one or none (another log would be another database's).
    if (context) return logRoot(connection, context, signal);
  }
  const candidates = rootDse.namingContexts.filter((context) => !suffix || dnKey(context) !== dnKey(suffix));
  if (!candidates.some((context) => dnKey(context) === USUAL_LOG_BASE)) candidates.push(USUAL_LOG_BASE);
  for (const context of candidates) {
    const state = await logRoot(connection, context, signal);
    if (state) return state;
  }
  return null;
}

export type LogTrust = { readonly trusted: true } | { readonly trusted: false; readonly reason: string };

export interface LogTrustOptions {
  readonly connection: LdapConnection;
  /** What the stored watermark recorded of the log when it was read (undefined: nothing). */
  readonly recorded: ChangeLogState | null | undefined;
  /** The log now. */
  readonly current: ChangeLogState;
  /** The window's start (generalized time): deletions since then must all be in the log. */
  readonly since: string;
  readonly signal?: AbortSignal | undefined;
}

/** Whether the log holds every deletion since `since`; see the module comment. */
export async function logTrust(options: LogTrustOptions): Promise<LogTrust> {
  const { connection, recorded, current, since, signal } = options;
  const minTime = current.minCsn ? csnTime(current.minCsn) : null;
  // Only entries older than the window were ever purged (whole seconds: minCSN < floor+1 ≤ since).
  if (minTime !== null && minTime < since) return { trusted: true };
  if (!recorded || dnKey(recorded.base) !== dnKey(current.base)) {
    return {
      trusted: false,
      reason: `the access log ${current.base} was not seen when the watermark was read`,
    };
  }
  // Nothing logged, nothing purged; or no purge since the watermark.
  if (current.minCsn === null || current.minCsn === recorded.minCsn) return { trusted: true };
  // minCSN moved: the first write logged (its entry is still there), or a purge (its entry is gone).
  if (await entryWithCsn(connection, current.base, current.minCsn, signal)) return { trusted: true };
  return {
    trusted: false,
    reason: `the access log ${current.base} was purged past the watermark (minCSN ${current.minCsn})`,
  };
}

/** Whether the log still holds the entry written with `csn` (its reqStart is at most a minute before). */
async function entryWithCsn(
  connection: LdapConnection,
  base: string,
  csn: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const time = csnTime(csn);
  const at = time ? parseGeneralizedTime(time) : null;
  if (!at) return false;
  // reqStart (the operation's start) precedes the CSN it was given: bound the search by it (indexed).
  const from = formatGeneralizedTime(new Date(at.getTime() - 60_000));
  const to = formatGeneralizedTime(new Date(at.getTime() + 1000));
  const result = await tolerant(() =>
    connection.search(
      base,
      {
        scope: 'one',
        filter: `(&(reqStart>=${from})(reqStart<=${to})(entryCSN=${csn}))`,
        attributes: ['1.1'],
        sizeLimit: 1,
      },
      signal,
    ),
  );
  return (result?.searchEntries.length ?? 0) > 0;
}

export interface LoggedDeletionsOptions {
  readonly connection: LdapConnection;
  readonly log: ChangeLogState;
  readonly limits: LdapLimits;
  readonly searchBase: string;
  /** The window's start (generalized time). */
  readonly since: string;
  /** Ids the snapshot holds. */
  readonly knownGuids: KnownIds;
  /**
   * Id → DN now, of objects stamped since the watermark (stamped-ids.ts) or read as changed. An
   * object added and deleted since, by another DN than its last, is found by the next read.
   */
  readonly alive: ReadonlyMap<string, string>;
  /** The snapshot's id of an object by its DN, when ids are not entryUUIDs (see ReadChangeSetOptions). */
  readonly idOfDn?: ((dn: string) => string | undefined) | undefined;
  readonly signal?: AbortSignal | undefined;
}

export type LoggedDeletions =
  | { readonly ok: true; readonly deletedGuids: readonly string[]; readonly entriesRead: number }
  | { readonly ok: false; readonly reason: string; readonly entriesRead: number };

interface LoggedObject {
  /** The DNs it had during the window, oldest first (a modrdn's reqDN is the DN before it). */
  readonly dns: string[];
  deleted: boolean;
}

/**
 * The ids of objects deleted since `since`, from the log. An object is named
 * by reqEntryUUID when the directory's ids are entryUUIDs, else by the DN it
 * had (idOfDn, or the DN it had when read as changed). Not ok when a deletion
 * under the base cannot be told from one the snapshot never held.
 */
export async function readLoggedDeletions(options: LoggedDeletionsOptions): Promise<LoggedDeletions> {
  const { connection, log, limits, searchBase, since, knownGuids, alive, idOfDn, signal } = options;
  const objects = new Map<string, LoggedObject>();
  const anonymous: LoggedObject[] = [];
  let entriesRead = 0;
  const values = new EntryValues();
  const pages = connection.pages(
    log.base,
    {
      scope: 'one',
      filter: `(&(|(objectClass=auditDelete)(objectClass=auditModRDN))(reqResult=0)(reqStart>=${since}))`,
      attributes: ['reqType', 'reqDN', 'reqEntryUUID', 'reqStart'],
      pageSize: limits.pageSize,
    },
    signal,
  );
  const logged: { start: string; type: string; dn: string; uuid: string | null }[] = [];
  for await (const page of pages) {
    for (const entry of page.searchEntries) {
      entriesRead++;
      values.load(entry);
      const dn = values.first('reqDN');
      const type = values.first('reqType');
      if (!dn || !type) continue;
      const uuidText = values.first('reqEntryUUID');
      logged.push({
        start: values.first('reqStart') ?? '',
        type,
        dn,
        uuid: uuidText ? normalizeEntryUuid(uuidText) : null,
      });
    }
  }
  // In the order they happened, so an object's DNs come oldest first.
  logged.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  for (const { type, dn, uuid } of logged) {
    let object = uuid ? objects.get(uuid) : undefined;
    if (!object) {
      object = { dns: [], deleted: false };
      if (uuid) objects.set(uuid, object);
      else anonymous.push(object);
    }
    object.dns.push(dn);
    if (type === 'delete') object.deleted = true;
  }

  const deleted = new Set<string>();
  const resolve = (uuid: string | null, object: LoggedObject): string | null | 'NOT_OURS' => {
    if (uuid && (knownGuids.has(uuid) || alive.has(uuid))) return uuid;
    const last = object.dns[object.dns.length - 1] as string;
    for (const dn of object.dns) {
      const id = idOfDn?.(dn);
      // The DN may since have gone to another object: one seen alive elsewhere was not deleted.
      if (id && knownGuids.has(id) && (!alive.has(id) || dnKey(alive.get(id) as string) === dnKey(last)))
        return id;
    }
    if (!object.dns.some((dn) => isUnder(dn, searchBase))) return 'NOT_OURS';
    // Under the base yet not found: held by nobody (an OU, an object of no kind read) when the
    // snapshot's DNs were asked; without them, it may be one the snapshot holds.
    return idOfDn ? 'NOT_OURS' : null;
  };
  const all: [string | null, LoggedObject][] = [
    ...[...objects].map(([uuid, object]): [string | null, LoggedObject] => [uuid, object]),
    ...anonymous.map((object): [string | null, LoggedObject] => [null, object]),
  ];
  for (const [uuid, object] of all) {
    if (!object.deleted) continue;
    const id = resolve(uuid, object);
    if (id === 'NOT_OURS') continue;
    if (id === null) {
      return {
        ok: false,
        reason: `the access log names a deletion of ${object.dns[object.dns.length - 1]} that no id is known for`,
        entriesRead,
      };
    }
    deleted.add(id);
  }
  return { ok: true, deletedGuids: [...deleted], entriesRead };
}

/**
 * An idOfDn over a snapshot's records (guid and DN), built on its first call
 * only: a read whose log deletions all resolve by entryUUID never pays for it.
 * DNs as the server spelled them first (the log's reqDN is spelled as the
 * entry's own DN), then by dnKey (another case or spacing), each map built once.
 */
export function idOfDnIn(
  records: readonly { readonly guid: string; readonly dn: string }[],
): (dn: string) => string | undefined {
  let exact: Map<string, string> | null = null;
  let keyed: Map<string, string> | null = null;
  return (dn) => {
    exact ??= new Map(records.map((record) => [record.dn, record.guid]));
    const found = exact.get(dn);
    if (found !== undefined) return found;
    keyed ??= new Map(records.map((record) => [dnKey(record.dn), record.guid]));
    return keyed.get(dnKey(dn));
  };
}
