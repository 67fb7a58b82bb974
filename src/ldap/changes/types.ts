import type { RawEntry } from '../types.js';

/**
 * Where an incremental read starts. Each kind is valid only against the server (and, for AD, the
 * database incarnation: invocationId) it was read from; a reader refuses a watermark from elsewhere.
 */
export type Watermark =
  | {
      readonly kind: 'USN';
      /** The DC's dnsHostName. */
      readonly server: string;
      /** The DSA's invocationId (GUID string form); reset when a DC is restored from backup. */
      readonly invocationId: string;
      /** highestCommittedUSN read BEFORE the changes, as a decimal string (may exceed 2^53). */
      readonly usn: string;
    }
  | {
      readonly kind: 'DIRSYNC';
      readonly server: string;
      readonly invocationId: string;
      /** The DirSync cookie, base64. */
      readonly cookie: string;
    }
  | {
      readonly kind: 'TIMESTAMP';
      readonly server: string;
      /** Generalized time (YYYYMMDDHHMMSSZ), taken BEFORE the changes were read. */
      readonly time: string;
      /** The base entry's contextCSN where the server keeps one, else null. */
      readonly contextCsn: string | null;
    };

export interface ChangeSet {
  /** Objects added or changed since the watermark, decoded as a full read decodes them (members whole). */
  readonly changed: readonly RawEntry[];
  /** Ids (RawEntry.guid form) of objects deleted, or moved out of the search base, since the watermark. */
  readonly deletedGuids: readonly string[];
  /** Where the next incremental read starts; written with the snapshot it belongs to. */
  readonly watermark: Watermark;
}
