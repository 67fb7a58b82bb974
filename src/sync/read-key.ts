/**
 * What a read depends on, as one key kept in the snapshot's meta
 * (SnapshotMeta.readKey). A watermark says what changed under one search
 * base through one set of filters and attributes: after any of them
 * changes, the served snapshot is no start for an incremental read (an
 * object the new filter matches may not have changed for years), so the
 * run reads in full. Where the connection binds is not part of it: the
 * watermark itself names its server and refuses another.
 */
import { createHash } from 'node:crypto';
import type { DirectoryAccess } from '../model/connection.js';
import { dnKey } from '../model/dn.js';

export function readKey(
  access: Pick<DirectoryAccess, 'searchBase' | 'includeContacts' | 'overrides'>,
): string {
  const { overrides } = access;
  const attributes = Object.entries(overrides.attributes ?? {}).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const parts = [
    dnKey(access.searchBase.trim()),
    access.includeContacts ? 'contacts' : '',
    overrides.userFilter ?? '',
    overrides.groupFilter ?? '',
    overrides.contactFilter ?? '',
    JSON.stringify(attributes),
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}
