/**
 * Reads what changed since a watermark: per kind, the kind's filter ANDed
 * with `(uSNChanged>=N+1)` (AD) or `(modifyTimestamp>=T-overlap)` (OpenLDAP),
 * through the full read's own reader, so entries come decoded exactly as a
 * full read decodes them (groups with whole member lists). The watermark
 * returned is the one read BEFORE the changes: anything committed meanwhile
 * comes again next time instead of being missed.
 */
import type { PrincipalKind } from '../../model/principal.js';
import type { LdapConnection } from '../client.js';
import { readKind } from '../reader.js';
import type { RootDse } from '../root-dse.js';
import type { SchemaMap } from '../schema-map.js';
import type { LdapLimits, RawEntry } from '../types.js';
import { WatermarkRefusedError } from './errors.js';
import { changeTracking } from './tracking.js';
import type { Watermark } from './types.js';
import { laterTime, timestampFilter, usnFilter, watermarkProblem } from './watermark.js';

export interface ReadChangesOptions {
  readonly connection: LdapConnection;
  readonly rootDse: RootDse;
  readonly schema: SchemaMap;
  readonly searchBase: string;
  readonly limits: LdapLimits;
  readonly kinds: readonly PrincipalKind[];
  /** Where the previous read stopped: written with the snapshot it belongs to. */
  readonly watermark: Watermark;
  /** TIMESTAMP watermarks: see ChangeTrackingOptions.clockSkewSeconds and now. */
  readonly clockSkewSeconds?: number | undefined;
  readonly now?: (() => Date) | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface ChangedEntries {
  readonly changed: readonly RawEntry[];
  /** The server's watermark read before the changes: where the next read starts. */
  readonly watermark: Watermark;
  /** Ranged member requests made (groups larger than one range). */
  readonly rangedRequests: number;
}

/** The filter asking what changed since `watermark`. */
export function changeFilter(watermark: Watermark): string {
  switch (watermark.kind) {
    case 'USN':
      return usnFilter(watermark.usn);
    case 'TIMESTAMP':
      return timestampFilter(watermark.time);
    case 'DIRSYNC':
      throw new RangeError('a DIRSYNC watermark is read with the DirSync control, not a filter');
  }
}

/**
 * Throws WatermarkRefusedError when the server cannot say what changed, or
 * the watermark is not valid on the server bound now (another DC, a reset
 * invocationId, a USN gone backwards): the caller then runs a full read.
 */
export async function readChangesSince(options: ReadChangesOptions): Promise<ChangedEntries> {
  return readChangedEntries(options, await nextWatermark(options));
}

/**
 * The server's watermark now, once the stored one is found valid on it (else
 * WatermarkRefusedError): where the next read starts. Read it BEFORE anything
 * else of the incremental read, so that what is committed meanwhile comes again.
 */
export async function nextWatermark(options: ReadChangesOptions): Promise<Watermark> {
  const { connection, rootDse, searchBase, limits, watermark: stored, signal } = options;
  if (stored.kind === 'DIRSYNC') {
    throw new WatermarkRefusedError('KIND_CHANGED', 'a DIRSYNC watermark is read by DirSync', connection.url);
  }
  const tracking = await changeTracking(connection, rootDse, searchBase, {
    limits,
    sinceTime: stored.kind === 'TIMESTAMP' ? stored.time : undefined,
    clockSkewSeconds: options.clockSkewSeconds,
    now: options.now,
    signal,
  });
  if (!tracking.supported) throw new WatermarkRefusedError('NOT_SUPPORTED', tracking.reason, connection.url);
  const problem = watermarkProblem(stored, tracking.watermark);
  if (problem) throw new WatermarkRefusedError(problem.reason, problem.message, connection.url);

  const next = tracking.watermark;
  // The newest entry may have been deleted since: the stored time stays the floor.
  if (next.kind === 'TIMESTAMP' && stored.kind === 'TIMESTAMP') {
    return { ...next, time: laterTime(next.time, stored.time) };
  }
  return next;
}

/** Each kind's entries stamped since the stored watermark; `next` is what nextWatermark returned. */
export async function readChangedEntries(
  options: ReadChangesOptions,
  next: Watermark,
): Promise<ChangedEntries> {
  const { connection, schema, searchBase, limits, kinds, watermark: stored, signal } = options;
  const extraFilter = changeFilter(stored);
  const changed: RawEntry[] = [];
  let rangedRequests = 0;
  for (const kind of kinds) {
    const stats = await readKind({
      connection,
      kind,
      schema,
      searchBase,
      limits,
      extraFilter,
      signal,
      onPage: (entries) => {
        for (const entry of entries) changed.push(entry);
      },
    });
    rangedRequests += stats.rangedRequests;
  }
  return { changed, watermark: next, rangedRequests };
}
