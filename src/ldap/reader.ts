/**
 * Reads every object of one kind under the search base: a paged subtree
 * search, entries decoded page by page and handed to the caller while the
 * next page is still to be asked for. Groups get their full member lists
 * (range retrieval) before their page is handed over.
 *
 * Continuation references (AD returns some for the configuration partition
 * and DNS zones when searching from the domain root) are ignored: referrals
 * are not chased.
 */

import type { Entry } from 'ldapts';
import type { PrincipalKind } from '../model/principal.js';
import type { LdapConnection } from './client.js';
import { decodeEntry } from './entry-decoder.js';
import { tooManyValues } from './limits.js';
import { collectValues, rangedAttribute, readRemainingValues } from './range-retrieval.js';
import { attributesFor, dedupeCaseInsensitive, type SchemaMap } from './schema-map.js';
import type { LdapLimits, RawEntry } from './types.js';

/** Shared by every entry that is not a group. */
const NO_MEMBERS: readonly string[] = Object.freeze([]);

export interface ReadStats {
  /** Entries handed to onPage. */
  readonly entries: number;
  /** Entries without a usable id (no objectGUID / entryUUID): not handed over. */
  readonly skipped: number;
  /**
   * Ranged requests made after the paged search: one per base-scope search
   * asking a further `member;range=…` chunk of one group. The first chunk of
   * every group rides along in the paged search and is not counted.
   */
  readonly rangedRequests: number;
}

export interface ReadKindOptions {
  readonly connection: LdapConnection;
  readonly kind: PrincipalKind;
  readonly schema: SchemaMap;
  readonly searchBase: string;
  readonly limits: LdapLimits;
  readonly onPage: (entries: RawEntry[]) => void | Promise<void>;
  readonly signal?: AbortSignal | undefined;
  /**
   * ANDed with the kind's filter: an incremental read asks only the entries changed since a
   * watermark (`(uSNChanged>=N)`), decoded exactly as a full read decodes them.
   */
  readonly extraFilter?: string | undefined;
}

/** The kind's filter, narrowed by an extra one when given. */
export function kindFilter(schema: SchemaMap, kind: PrincipalKind, extraFilter?: string): string {
  const filter = schema.filters[kind];
  if (!extraFilter) return filter;
  const term = (text: string) => {
    const trimmed = text.trim();
    return trimmed.startsWith('(') && trimmed.endsWith(')') ? trimmed : `(${trimmed})`;
  };
  return `(&${term(filter)}${term(extraFilter)})`;
}

/** What the paged search asks for: the kind's attributes plus, for groups, members (ranged on AD). */
export function requestedAttributes(schema: SchemaMap, kind: PrincipalKind, rangeSize: number): string[] {
  const names = attributesFor(schema, kind);
  if (kind === 'GROUP') {
    for (const member of schema.member) {
      names.push(schema.rangedMembers ? rangedAttribute(member, 0, rangeSize) : member);
    }
  }
  return dedupeCaseInsensitive(names);
}

/** ldapts matches explicitBufferAttributes case-sensitively against the server's spelling: ask the usual ones. */
export function bufferAttributeNames(schema: SchemaMap): string[] {
  const names = new Set<string>();
  for (const name of schema.binaryAttributes) {
    names.add(name);
    names.add(name.toLowerCase());
    if (name.toLowerCase() === 'objectguid') names.add('objectGUID');
  }
  return [...names];
}

export async function readKind(options: ReadKindOptions): Promise<ReadStats> {
  const { connection, kind, schema, searchBase, limits, onPage, signal, extraFilter } = options;
  let entries = 0;
  let skipped = 0;
  let rangedRequests = 0;

  const pages = connection.pages(
    searchBase,
    {
      scope: 'sub',
      filter: kindFilter(schema, kind, extraFilter),
      attributes: requestedAttributes(schema, kind, limits.rangeSize),
      explicitBufferAttributes: bufferAttributeNames(schema),
      pageSize: limits.pageSize,
    },
    signal,
  );

  for await (const page of pages) {
    const decoded: RawEntry[] = [];
    for (const entry of page.searchEntries) {
      const members =
        kind === 'GROUP'
          ? await groupMembers(connection, entry, schema, limits, signal, () => {
              rangedRequests++;
            })
          : NO_MEMBERS;
      const raw = decodeEntry(entry, kind, schema, members);
      if (raw === null) skipped++;
      else decoded.push(raw);
    }
    entries += decoded.length;
    if (decoded.length > 0) await onPage(decoded);
  }
  return { entries, skipped, rangedRequests };
}

/**
 * A group entry's whole member list: each member attribute's values, the
 * rest of a ranged one read by range retrieval (bounded by the values
 * limit), member and uniqueMember merged. `onRangedRequest` counts the
 * further requests.
 */
export async function groupMembers(
  connection: LdapConnection,
  entry: Entry,
  schema: SchemaMap,
  limits: LdapLimits,
  signal: AbortSignal | undefined,
  onRangedRequest?: () => void,
): Promise<readonly string[]> {
  const list: string[] = [];
  for (const attribute of schema.member) {
    const collected = collectValues(entry, attribute);
    // A loop, not push(...values): a spread of a very large group exceeds the argument limit.
    for (const value of collected.values) list.push(value);
    if (collected.nextStart !== null) {
      const rest = await readRemainingValues(connection, entry.dn, attribute, collected.nextStart, {
        rangeSize: limits.rangeSize,
        maxValues: limits.maxValuesPerAttribute,
        held: collected.values.length,
        refuse: () => tooManyValues(attribute, entry.dn, limits, connection.url),
        signal,
        ...(onRangedRequest ? { onRequest: onRangedRequest } : {}),
      });
      for (const value of rest) list.push(value);
    }
  }
  return schema.member.length > 1 ? dedupeExact(list) : list;
}

/**
 * member and uniqueMember may both list the same DN; uniqueMember values
 * (nameAndOptionalUID syntax) may end in a `#'0101'B` bit-string uid, which
 * is not part of the DN.
 */
function dedupeExact(values: readonly string[]): string[] {
  return [...new Set(values.map((value) => value.replace(/#'[01]*'B$/, '')))];
}
