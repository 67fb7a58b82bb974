/**
 * Every object stamped since a watermark, anywhere in the naming context that
 * holds the search base: its id and DN, nothing else. An object that left the
 * read without being deleted (moved out of an OU base, or changed so that its
 * kind's filter no longer matches) was stamped by that change (uSNChanged,
 * modifyTimestamp: measured on Samba and slapd, modrdn included), so it is
 * here; if the kind-filtered change read did not return it, it is gone from
 * the read. The cost is one id per object changed, not one per object held.
 */
import type { LdapConnection } from '../client.js';
import type { RootDse } from '../root-dse.js';
import type { SchemaMap } from '../schema-map.js';
import type { LdapLimits } from '../types.js';
import { eachId } from './deletions.js';
import { namingContextOf } from './naming-context.js';
import { changeFilter } from './read-changes.js';
import type { Watermark } from './types.js';

export interface StampedIdsOptions {
  readonly connection: LdapConnection;
  readonly rootDse: RootDse;
  readonly schema: SchemaMap;
  readonly searchBase: string;
  readonly limits: LdapLimits;
  /** The stored watermark (USN or TIMESTAMP): objects stamped since it. */
  readonly since: Watermark;
  readonly signal?: AbortSignal | undefined;
}

export interface StampedIds {
  /** Id (RawEntry.guid form) → DN now, of every object stamped since the watermark. */
  readonly ids: ReadonlyMap<string, string>;
  /** Where they were searched. */
  readonly namingContext: string;
  /** Entries the server returned (ids read). */
  readonly entriesRead: number;
}

/**
 * Null when the server names no naming context holding the base: then
 * nothing can say where a departed object went, and ids must be compared.
 */
export async function readStampedIds(options: StampedIdsOptions): Promise<StampedIds | null> {
  const { connection, rootDse, schema, searchBase, limits, since, signal } = options;
  const namingContext = namingContextOf(rootDse, searchBase);
  if (namingContext === null) return null;
  const ids = new Map<string, string>();
  const entriesRead = await eachId(
    { connection, schema, limits, signal, base: namingContext, filter: changeFilter(since) },
    (id, dn) => ids.set(id, dn),
  );
  return { ids, namingContext, entriesRead };
}
