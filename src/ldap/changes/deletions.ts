/**
 * Finding what was deleted, or moved out of the search base, since a
 * watermark. The general way: read every id under the base (the id attribute
 * alone, paged: cheap) and compare with the snapshot's. Tombstones (AD, Show
 * Deleted) are cheaper but see only deletions: an object moved out of the
 * base or no longer matching a configured filter leaves no tombstone, and a
 * plain account sees no tombstone at all (LAB.md, "Change tracking").
 */
import { Control, EqualityFilter } from 'ldapts';
import { dnKey } from '../../model/dn.js';
import type { PrincipalKind } from '../../model/principal.js';
import type { LdapConnection } from '../client.js';
import { decodeId, EntryValues } from '../entry-decoder.js';
import { LdapError } from '../errors.js';
import { bufferAttributeNames, kindFilter } from '../reader.js';
import type { RootDse } from '../root-dse.js';
import { type SchemaMap, schemaFor } from '../schema-map.js';
import type { KnownIds, LdapLimits } from '../types.js';
import { usnFilter } from './watermark.js';

/** LDAP_SERVER_SHOW_DELETED_OID: a search also returns tombstones. */
export const SHOW_DELETED_OID = '1.2.840.113556.1.4.417';

/** The well-known GUID of AD's Deleted Objects container (GUID_DELETED_OBJECTS_CONTAINER_W). */
const DELETED_OBJECTS_WKGUID = '18e2ea80684f11d2b9aa00c04f79f805';

export interface ReadIdsOptions {
  readonly connection: LdapConnection;
  readonly schema: SchemaMap;
  readonly kind: PrincipalKind;
  readonly searchBase: string;
  readonly limits: LdapLimits;
  readonly signal?: AbortSignal | undefined;
}

/**
 * A paged read of the id attribute alone under `base` with `filter`: each
 * entry's id (RawEntry.guid form) and DN, as they come. Returns the entries read.
 */
export async function eachId(
  options: Pick<ReadIdsOptions, 'connection' | 'schema' | 'limits' | 'signal'> & {
    readonly base: string;
    readonly filter: string;
  },
  onId: (id: string, dn: string) => void,
): Promise<number> {
  const { connection, schema, limits, signal } = options;
  const values = new EntryValues();
  let entries = 0;
  const pages = connection.pages(
    options.base,
    {
      scope: 'sub',
      filter: options.filter,
      attributes: [...schema.idAttributes],
      explicitBufferAttributes: bufferAttributeNames(schema),
      pageSize: limits.pageSize,
    },
    signal,
  );
  for await (const page of pages) {
    for (const entry of page.searchEntries) {
      entries++;
      const id = decodeId(values.load(entry), schema.idAttributes);
      if (id) onId(id, entry.dn);
    }
  }
  return entries;
}

/** Every id (RawEntry.guid form) of one kind under the base: a paged read of the id attribute alone. */
export async function readAllIds(options: ReadIdsOptions): Promise<string[]> {
  const ids: string[] = [];
  await eachId(
    { ...options, base: options.searchBase, filter: kindFilter(options.schema, options.kind) },
    (id) => ids.push(id),
  );
  return ids;
}

export interface TombstoneOptions {
  readonly connection: LdapConnection;
  readonly rootDse: RootDse;
  /** The watermark's highestCommittedUSN: tombstones of objects deleted after it. */
  readonly usn: string;
  readonly signal?: AbortSignal | undefined;
}

function showDeleted(): Control {
  // ldapts' base Control writes the OID and criticality with no value: all Show Deleted needs.
  return new Control(SHOW_DELETED_OID, { critical: true });
}

/**
 * Whether this account sees tombstones: at least one in Deleted Objects (a
 * plain user reads only the container itself). An account that sees none
 * cannot be told apart from a domain without deletions, so it is not trusted:
 * ids are compared instead (correct, only dearer).
 */
export async function tombstonesVisible(
  connection: LdapConnection,
  rootDse: RootDse,
  signal?: AbortSignal,
): Promise<boolean> {
  const domain = rootDse.defaultNamingContext;
  if (rootDse.flavour !== 'ACTIVE_DIRECTORY' || !domain) return false;
  if (!rootDse.supportedControls.includes(SHOW_DELETED_OID)) return false;
  try {
    const visible = await connection.search(
      `<WKGUID=${DELETED_OBJECTS_WKGUID},${domain}>`,
      {
        scope: 'one',
        filter: new EqualityFilter({ attribute: 'isDeleted', value: 'TRUE' }),
        attributes: ['objectGUID'],
        explicitBufferAttributes: ['objectGUID'],
        sizeLimit: 1,
        controls: [showDeleted()],
      },
      signal,
    );
    return visible.searchEntries.length > 0;
  } catch (err) {
    if (err instanceof LdapError && err.code === 'SEARCH_FAILED') return false;
    throw err;
  }
}

/**
 * objectGUIDs of objects deleted since `usn`, or null when this account
 * cannot see tombstones (tombstonesVisible) or the server refuses.
 */
export async function readTombstones(options: TombstoneOptions): Promise<string[] | null> {
  const { connection, rootDse, usn, signal } = options;
  const domain = rootDse.defaultNamingContext;
  if (!domain || !(await tombstonesVisible(connection, rootDse, signal))) return null;
  try {
    const result = await connection.search(
      domain,
      {
        scope: 'sub',
        filter: `(&(isDeleted=TRUE)${usnFilter(usn)})`,
        attributes: ['objectGUID'],
        explicitBufferAttributes: ['objectGUID'],
        controls: [showDeleted()],
      },
      signal,
    );
    const ids: string[] = [];
    const values = new EntryValues();
    for (const entry of result.searchEntries) {
      const id = decodeId(values.load(entry), ['objectGUID']);
      if (id) ids.push(id);
    }
    return ids;
  } catch (err) {
    // A size limit (more tombstones than one unpaged answer holds) or a refusal: compare ids.
    if (err instanceof LdapError && err.code === 'SEARCH_FAILED') return null;
    throw err;
  }
}

export interface DeletionOptions {
  readonly connection: LdapConnection;
  readonly rootDse: RootDse;
  readonly schema: SchemaMap;
  readonly searchBase: string;
  readonly limits: LdapLimits;
  readonly kinds: readonly PrincipalKind[];
  /** Every id the snapshot holds (all kinds read). */
  readonly knownGuids: KnownIds;
  /** AD: the stored watermark's USN, to read tombstones since; omit to compare ids. */
  readonly usn?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * How deletions were found: AD tombstones, OpenLDAP's access log
 * (access-log.ts), or a read of every id. With the first two, objects that
 * left the read without being deleted are found from the ids stamped since
 * the watermark (stamped-ids.ts).
 */
export type DeletionMethod = 'TOMBSTONES' | 'CHANGE_LOG' | 'ID_COMPARISON';

export interface Deletions {
  /** Known ids deleted or moved out of the base (TOMBSTONES: ids of any deleted object, known or not). */
  readonly deletedGuids: readonly string[];
  readonly method: DeletionMethod;
}

/**
 * Tombstones say it all only when nothing can leave the read except by
 * deletion: the base is the whole domain and the kinds' filters are AD's own
 * (a configured filter may stop matching an object that stays).
 */
export function tombstonesSuffice(rootDse: RootDse, schema: SchemaMap, searchBase: string): boolean {
  const domain = rootDse.defaultNamingContext;
  if (rootDse.flavour !== 'ACTIVE_DIRECTORY' || !domain) return false;
  // As DNs, not text: a base typed `DC=corp, DC=test` is the domain root too (else ids are
  // compared for nothing: correct, but a read of every id per run).
  if (dnKey(searchBase.trim()) !== dnKey(domain)) return false;
  const defaults = schemaFor(rootDse.flavour, {}).filters;
  return (Object.keys(defaults) as PrincipalKind[]).every((kind) => defaults[kind] === schema.filters[kind]);
}

/** What was deleted: by tombstones where they suffice and this account sees them, else by comparing ids. */
export async function readDeletions(options: DeletionOptions): Promise<Deletions> {
  const { connection, rootDse, schema, searchBase, limits, kinds, knownGuids, usn, signal } = options;
  if (usn !== undefined && tombstonesSuffice(rootDse, schema, searchBase)) {
    const tombstones = await readTombstones({ connection, rootDse, usn, signal });
    if (tombstones !== null) return { deletedGuids: tombstones, method: 'TOMBSTONES' };
  }
  const compared = await compareIds({ connection, schema, searchBase, limits, kinds, knownGuids, signal });
  return { deletedGuids: compared.deletedGuids, method: 'ID_COMPARISON' };
}

export interface ComparedIds {
  /** Known ids no longer under the base as one of the kinds. */
  readonly deletedGuids: readonly string[];
  /** Ids read: every object of the kinds under the base. */
  readonly idsRead: number;
}

/** The known ids no longer read: a paged read of every id of the kinds under the base. */
export async function compareIds(options: Omit<DeletionOptions, 'rootDse' | 'usn'>): Promise<ComparedIds> {
  const { connection, schema, searchBase, limits, kinds, knownGuids, signal } = options;
  const present = new Set<string>();
  let idsRead = 0;
  for (const kind of kinds) {
    for (const id of await readAllIds({ connection, schema, kind, searchBase, limits, signal })) {
      present.add(id);
      idsRead++;
    }
  }
  const deletedGuids: string[] = [];
  for (const id of knownGuids) if (!present.has(id)) deletedGuids.push(id);
  return { deletedGuids, idsRead };
}
