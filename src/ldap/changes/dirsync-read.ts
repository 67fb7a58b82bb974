/**
 * Reading changes with DirSync (Active Directory, Samba): one search of the
 * whole naming context with the DirSync control, repeated while the server
 * says it has more, then the changed objects read again whole, so that they
 * come decoded exactly as a full read decodes them (DirSync sends only what
 * changed, and a group's members only as the values added and removed).
 *
 * Rights decide what DirSync can do (LAB.md "Change tracking", measured on
 * Samba 4.17): without OBJECT_SECURITY the account needs "Replicating
 * Directory Changes" on the domain (Samba refuses with insufficientAccessRights,
 * "error in module dirsync"); with OBJECT_SECURITY any account reads what it
 * may see, but no tombstones: deletions must then be found by comparing ids.
 * The result says which happened, so the caller can choose.
 */
import {
  AndFilter,
  type Entry,
  EqualityFilter,
  type Filter,
  FilterParser,
  OrFilter,
  ResultCodeError,
} from 'ldapts';
import type { PrincipalKind } from '../../model/principal.js';
import type { LdapConnection } from '../client.js';
import { decodeEntry } from '../entry-decoder.js';
import { LdapError, SearchError } from '../errors.js';
import { guidToBytes } from '../guid.js';
import { groupMembers, requestedAttributes } from '../reader.js';
import { attributesFor, dedupeCaseInsensitive, type SchemaMap } from '../schema-map.js';
import type { LdapLimits, RawEntry } from '../types.js';
import { DirSyncControl, DirSyncFlags } from './dirsync-control.js';
import { type DirSyncDelta, dirSyncDelta } from './dirsync-delta.js';
import type { ChangeSet, Watermark } from './types.js';

/** Why a DirSync read could not be done; each leads the caller to another way of reading. */
export type DirSyncRefusal =
  /** Flags without OBJECT_SECURITY and an account without "Replicating Directory Changes": retry with it. */
  | 'NEEDS_REPLICATION_RIGHTS'
  /** The server could not use the cookie (not its own format, another domain, too old): read in full. */
  | 'COOKIE_REFUSED'
  /** The server does not do DirSync here (no control, or no cookie in its answer): use uSNChanged. */
  | 'UNSUPPORTED';

export type DirSyncRead =
  | {
      readonly ok: true;
      /** Every entry of every round, as ldapts gave them. */
      readonly entries: readonly Entry[];
      /** The cookie of the last round: where the next read starts. */
      readonly cookie: Buffer;
      /** Searches made (more than one when the server said it had more). */
      readonly rounds: number;
    }
  | { readonly ok: false; readonly refusal: DirSyncRefusal; readonly message: string };

export interface DirSyncReadOptions {
  readonly connection: LdapConnection;
  /** The naming context's root (defaultNamingContext): DirSync refuses any other base. */
  readonly namingContext: string;
  /** Unsigned 32-bit DirSyncFlags. */
  readonly flags: number;
  /** Empty: everything, with a first cookie. */
  readonly cookie: Uint8Array;
  readonly filter: string | Filter;
  readonly attributes: readonly string[];
  readonly explicitBufferAttributes?: readonly string[];
  /** Asked of the server per answer (AD honours it, Samba ignores it). */
  readonly maxBytes?: number;
  /** Rounds allowed before giving up on a server that always has more (default 10,000). */
  readonly maxRounds?: number;
  readonly signal?: AbortSignal | undefined;
}

/** AD's own default answer size for DirSync. */
const DEFAULT_MAX_BYTES = 0x100000;
const DEFAULT_MAX_ROUNDS = 10_000;
const INSUFFICIENT_ACCESS_RIGHTS = 50;
const UNAVAILABLE_CRITICAL_EXTENSION = 12;
const UNWILLING_TO_PERFORM = 53;
const PROTOCOL_ERROR = 2;

function resultCode(err: unknown): number | null {
  const cause = err instanceof LdapError ? err.cause : err;
  return cause instanceof ResultCodeError ? cause.code : null;
}

/** A server refusal, as one of DirSyncRefusal, or null when the error is something else (rethrown). */
function refusalOf(err: unknown, flags: number, cookie: Uint8Array): DirSyncRefusal | null {
  const code = resultCode(err);
  if (code === INSUFFICIENT_ACCESS_RIGHTS && (flags & DirSyncFlags.OBJECT_SECURITY) === 0) {
    return 'NEEDS_REPLICATION_RIGHTS';
  }
  // Samba: an unreadable cookie is unavailableCriticalExtension; AD answers a foreign one unwillingToPerform.
  if ((code === UNAVAILABLE_CRITICAL_EXTENSION || code === UNWILLING_TO_PERFORM) && cookie.length > 0) {
    return 'COOKIE_REFUSED';
  }
  if (code === UNAVAILABLE_CRITICAL_EXTENSION || code === PROTOCOL_ERROR) return 'UNSUPPORTED';
  return null;
}

/** One DirSync read: rounds until the server has no more, or a typed refusal. */
export async function readDirSync(options: DirSyncReadOptions): Promise<DirSyncRead> {
  const { connection, namingContext, flags, signal } = options;
  const maxRounds = options.maxRounds ?? DEFAULT_MAX_ROUNDS;
  const entries: Entry[] = [];
  let cookie: Uint8Array = options.cookie;
  for (let round = 1; round <= maxRounds; round++) {
    const control = new DirSyncControl({
      flags,
      maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
      cookie,
    });
    let result: Awaited<ReturnType<LdapConnection['search']>>;
    try {
      result = await connection.search(
        namingContext,
        {
          scope: 'sub',
          filter: options.filter,
          attributes: options.attributes,
          explicitBufferAttributes: options.explicitBufferAttributes ?? [],
          controls: [control],
        },
        signal,
      );
    } catch (err) {
      const refusal = refusalOf(err, flags, cookie);
      if (refusal === null) throw err;
      return { ok: false, refusal, message: err instanceof Error ? err.message : String(err) };
    }
    for (const entry of result.searchEntries) entries.push(entry);
    if (control.responseError) {
      throw new SearchError(
        'SEARCH_FAILED',
        control.responseError.message,
        connection.url,
        control.responseError,
      );
    }
    const response = control.response;
    if (!response || response.cookie.length === 0) {
      return { ok: false, refusal: 'UNSUPPORTED', message: 'the server answered DirSync without a cookie' };
    }
    cookie = response.cookie;
    if (!response.moreResults) return { ok: true, entries, cookie: response.cookie, rounds: round };
  }
  throw new SearchError(
    'SEARCH_FAILED',
    `DirSync still had more results after ${maxRounds} rounds`,
    connection.url,
  );
}

// ---------------------------------------------------------------- changes as a ChangeSet

export interface DirSyncChangesOptions {
  readonly connection: LdapConnection;
  readonly schema: SchemaMap;
  /** The connection's search base: objects outside it are reported as deleted. */
  readonly searchBase: string;
  /** The naming context's root (RootDSE defaultNamingContext). */
  readonly namingContext: string;
  readonly limits: LdapLimits;
  readonly kinds: readonly PrincipalKind[];
  /** The DC this session is bound to and its invocationId (tracking.ts reads both), for the watermark. */
  readonly server: string;
  readonly invocationId: string;
  /** The previous read's cookie (base64), or null for a first read (every object). */
  readonly cookie: string | null;
  /**
   * Ask with OBJECT_SECURITY: true when the account is known to lack "Replicating Directory
   * Changes", false to use the rights it has; 'AUTO' tries without and falls back to it.
   */
  readonly objectSecurity: boolean | 'AUTO';
  /** The gateway's clock, for the watermark's readAt (tests). */
  readonly now?: (() => Date) | undefined;
  readonly signal?: AbortSignal | undefined;
}

export type DirSyncChanges =
  | {
      readonly ok: true;
      readonly changeSet: ChangeSet;
      /** What DirSync itself said, before the changed objects were read again. */
      readonly delta: DirSyncDelta;
      /** The read was made with OBJECT_SECURITY (the account lacks replication rights). */
      readonly objectSecurity: boolean;
      /**
       * True when tombstones can be trusted to name every deletion (no OBJECT_SECURITY). When
       * false, deletedGuids holds only objects moved out of the search base or out of the kinds'
       * filters: deletions must be found by comparing ids (deletions.ts readAllIds).
       */
      readonly tombstonesComplete: boolean;
      readonly rounds: number;
    }
  | { readonly ok: false; readonly refusal: DirSyncRefusal; readonly message: string };

/**
 * Everything that could be a user, group or contact, tombstones included:
 * tombstones keep objectClass but lose objectCategory, which AD's user filter
 * uses, and an object that stops matching an overridden filter must still come
 * so that it can be removed.
 */
function dirSyncFilter(schema: SchemaMap, kinds: readonly PrincipalKind[]): string {
  const terms = ['(objectClass=user)', '(objectClass=group)', '(objectClass=contact)'];
  for (const kind of kinds) {
    const filter = schema.filters[kind].trim();
    terms.push(filter.startsWith('(') ? filter : `(${filter})`);
  }
  return `(|${[...new Set(terms)].join('')})`;
}

/** What DirSync is asked for: every attribute a full read reads (so a change of any comes), plus isDeleted. */
function dirSyncAttributes(schema: SchemaMap, kinds: readonly PrincipalKind[]): string[] {
  const names: string[] = ['objectGUID', 'isDeleted', 'name'];
  for (const kind of kinds) names.push(...attributesFor(schema, kind));
  names.push(...schema.member);
  return dedupeCaseInsensitive(names);
}

/** Changes since a cookie as a ChangeSet, or a typed refusal. */
export async function readDirSyncChanges(options: DirSyncChangesOptions): Promise<DirSyncChanges> {
  const { connection, schema, kinds, signal } = options;
  const cookie = options.cookie === null ? Buffer.alloc(0) : Buffer.from(options.cookie, 'base64');
  // Before the read: the cookie says nothing of what is committed after it was asked for.
  const readAt = (options.now ?? (() => new Date()))().toISOString();
  const read = (objectSecurity: boolean) =>
    readDirSync({
      connection,
      namingContext: options.namingContext,
      flags: (DirSyncFlags.INCREMENTAL_VALUES | (objectSecurity ? DirSyncFlags.OBJECT_SECURITY : 0)) >>> 0,
      cookie,
      filter: dirSyncFilter(schema, kinds),
      attributes: dirSyncAttributes(schema, kinds),
      explicitBufferAttributes: ['objectGUID', 'objectguid'],
      signal,
    });
  let objectSecurity = options.objectSecurity === true;
  let answer = await read(objectSecurity);
  if (!answer.ok && answer.refusal === 'NEEDS_REPLICATION_RIGHTS' && options.objectSecurity === 'AUTO') {
    objectSecurity = true;
    answer = await read(true);
  }
  if (!answer.ok) return answer;

  const delta = dirSyncDelta(answer.entries, schema.member);
  const wanted = delta.changed.map((object) => object.guid);
  const changed = await readByGuid({ ...options, guids: wanted });
  const found = new Set(changed.map((entry) => entry.guid));
  const deleted = new Set(delta.deletedGuids);
  // Changed but not under the search base as one of the kinds: moved out, or never one of ours.
  for (const guid of wanted) if (!found.has(guid)) deleted.add(guid);
  return {
    ok: true,
    changeSet: {
      changed,
      deletedGuids: [...deleted],
      watermark: {
        kind: 'DIRSYNC',
        server: options.server,
        invocationId: options.invocationId,
        cookie: answer.cookie.toString('base64'),
        readAt,
        objectSecurity,
      },
    },
    delta,
    objectSecurity,
    tombstonesComplete: !objectSecurity,
    rounds: answer.rounds,
  };
}

// ---------------------------------------------------------------- the first cookie

export interface DirSyncStartOptions {
  readonly connection: LdapConnection;
  readonly namingContext: string;
  readonly schema: SchemaMap;
  readonly kinds: readonly PrincipalKind[];
  readonly server: string;
  readonly invocationId: string;
  readonly signal?: AbortSignal | undefined;
}

/**
 * A DIRSYNC watermark for a full read about to start: the first cookie comes
 * only from a read with an empty cookie, which returns every object, so it
 * asks for the id alone (the cookie holds the server's USN marks, not the
 * attribute list: the next read asks for every attribute it needs). Read
 * BEFORE the full read, like any watermark. With OBJECT_SECURITY when the
 * account lacks replication rights; null when DirSync is refused either way.
 */
export async function startDirSync(
  options: DirSyncStartOptions,
): Promise<Extract<Watermark, { kind: 'DIRSYNC' }> | null> {
  const read = (objectSecurity: boolean) =>
    readDirSync({
      connection: options.connection,
      namingContext: options.namingContext,
      flags: (DirSyncFlags.INCREMENTAL_VALUES | (objectSecurity ? DirSyncFlags.OBJECT_SECURITY : 0)) >>> 0,
      cookie: Buffer.alloc(0),
      filter: dirSyncFilter(options.schema, options.kinds),
      attributes: ['objectGUID'],
      explicitBufferAttributes: ['objectGUID', 'objectguid'],
      signal: options.signal,
    });
  let objectSecurity = false;
  let answer = await read(false);
  if (!answer.ok && answer.refusal === 'NEEDS_REPLICATION_RIGHTS') {
    objectSecurity = true;
    answer = await read(true);
  }
  if (!answer.ok) return null;
  return {
    kind: 'DIRSYNC',
    server: options.server,
    invocationId: options.invocationId,
    cookie: answer.cookie.toString('base64'),
    readAt: new Date().toISOString(),
    objectSecurity,
  };
}

// ---------------------------------------------------------------- full entries by id

interface ReadByGuidOptions {
  readonly connection: LdapConnection;
  readonly schema: SchemaMap;
  readonly searchBase: string;
  readonly limits: LdapLimits;
  readonly kinds: readonly PrincipalKind[];
  readonly guids: readonly string[];
  readonly signal?: AbortSignal | undefined;
}

/** Ids per search: an OR of this many equality terms is a small request for any DC. */
const GUIDS_PER_SEARCH = 100;

/**
 * The objects with these ids under the search base, each kind's filter
 * ANDed with an OR of id equalities (Filter objects: ldapts mangles `\XX`
 * escapes of bytes ≥ 0x80 in string filters, LAB.md), decoded as the full
 * read decodes them, groups with whole member lists.
 */
export async function readByGuid(options: ReadByGuidOptions): Promise<RawEntry[]> {
  const { connection, schema, searchBase, limits, signal } = options;
  const idAttribute = schema.idAttributes[0] ?? 'objectGUID';
  let remaining = [...new Set(options.guids)];
  const out: RawEntry[] = [];
  for (const kind of options.kinds) {
    if (remaining.length === 0) break;
    const kindFilter = FilterParser.parseString(schema.filters[kind]);
    const foundNow = new Set<string>();
    for (let at = 0; at < remaining.length; at += GUIDS_PER_SEARCH) {
      const batch = remaining.slice(at, at + GUIDS_PER_SEARCH);
      const filter = new AndFilter({
        filters: [
          kindFilter,
          new OrFilter({
            filters: batch.map(
              (guid) => new EqualityFilter({ attribute: idAttribute, value: guidToBytes(guid) }),
            ),
          }),
        ],
      });
      const pages = connection.pages(
        searchBase,
        {
          scope: 'sub',
          filter,
          attributes: requestedAttributes(schema, kind, limits.rangeSize),
          explicitBufferAttributes: [...new Set([idAttribute, idAttribute.toLowerCase(), 'objectGUID'])],
          pageSize: limits.pageSize,
        },
        signal,
      );
      for await (const page of pages) {
        for (const entry of page.searchEntries) {
          const raw = decodeEntry(
            entry,
            kind,
            schema,
            kind === 'GROUP' ? await groupMembers(connection, entry, schema, limits, signal) : [],
          );
          if (raw === null) continue;
          foundNow.add(raw.guid);
          out.push(raw);
        }
      }
    }
    remaining = remaining.filter((guid) => !foundNow.has(guid));
  }
  return out;
}
