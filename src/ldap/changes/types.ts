import type { Watermark } from '../../model/watermark.js';
import type { RawEntry } from '../types.js';

export type { Watermark };

export interface ChangeSet {
  /** Objects added or changed since the watermark, decoded as a full read decodes them (members whole). */
  readonly changed: readonly RawEntry[];
  /** Ids (RawEntry.guid form) of objects deleted, or moved out of the search base, since the watermark. */
  readonly deletedGuids: readonly string[];
  /** Where the next incremental read starts; written with the snapshot it belongs to. */
  readonly watermark: Watermark;
}
