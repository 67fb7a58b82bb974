/**
 * One incremental read, whole: the changed entries since a USN or TIMESTAMP
 * watermark, then what was deleted (tombstones or an id comparison), as the
 * ChangeSet an applier takes. An object both read as changed and found
 * deleted (deleted between the two reads) counts as deleted: the deletion is
 * the later news.
 */

import { type DeletionMethod, readDeletions } from './deletions.js';
import { type ChangedEntries, type ReadChangesOptions, readChangesSince } from './read-changes.js';
import type { ChangeSet } from './types.js';

export interface ReadChangeSetOptions extends ReadChangesOptions {
  /** Every id of the snapshot the watermark belongs to, of the kinds read. */
  readonly knownGuids: ReadonlySet<string>;
}

export interface ChangeSetRead {
  readonly changeSet: ChangeSet;
  readonly deletions: DeletionMethod;
  readonly rangedRequests: number;
}

export async function readChangeSet(options: ReadChangeSetOptions): Promise<ChangeSetRead> {
  const read: ChangedEntries = await readChangesSince(options);
  const deletions = await readDeletions({
    connection: options.connection,
    rootDse: options.rootDse,
    schema: options.schema,
    searchBase: options.searchBase,
    limits: options.limits,
    kinds: options.kinds,
    knownGuids: options.knownGuids,
    usn: options.watermark.kind === 'USN' ? options.watermark.usn : undefined,
    signal: options.signal,
  });
  const deleted = new Set(deletions.deletedGuids);
  return {
    changeSet: {
      changed: read.changed.filter((entry) => !deleted.has(entry.guid)),
      deletedGuids: deletions.deletedGuids,
      watermark: read.watermark,
    },
    deletions: deletions.method,
    rangedRequests: read.rangedRequests,
  };
}
