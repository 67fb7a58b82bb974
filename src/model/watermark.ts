/**
 * Where an incremental read of a directory starts, as kept with the
 * snapshot it belongs to (SnapshotMeta.watermark). Each kind is valid only
 * against the server (and, for AD, the database incarnation: invocationId)
 * it was read from; the LDAP layer refuses a watermark from elsewhere.
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
      /** See ReadAt. */
      readonly readAt?: string;
    }
  | {
      readonly kind: 'DIRSYNC';
      readonly server: string;
      readonly invocationId: string;
      /** The DirSync cookie, base64. */
      readonly cookie: string;
      /** See ReadAt. */
      readonly readAt?: string;
      /**
       * Read with OBJECT_SECURITY (the account lacks "Replicating Directory Changes"): the next
       * read asks the same way at once, and finds deletions by comparing ids (no tombstones).
       */
      readonly objectSecurity?: boolean;
    }
  | {
      readonly kind: 'TIMESTAMP';
      readonly server: string;
      /** Generalized time (YYYYMMDDHHMMSSZ), taken BEFORE the changes were read. */
      readonly time: string;
      /** The base entry's contextCSN where the server keeps one, else null. */
      readonly contextCsn: string | null;
      /** See ReadAt. */
      readonly readAt?: string;
      /**
       * The server's access log (slapo-accesslog) as it stood when the watermark was read, or
       * null when it had none readable: a later read trusts the log only if it was there then
       * and has not been purged since (src/ldap/changes/access-log.ts).
       */
      readonly changeLog?: ChangeLogState | null;
    };

/**
 * ReadAt: the gateway's time (ISO 8601) when the watermark was read. AD keeps
 * tombstones only for the forest's tombstoneLifetime: a watermark older than
 * that cannot see every deletion. A watermark without it counts as too old there.
 */
export type ReadAt = string;

export interface ChangeLogState {
  /** The log's naming context (`cn=accesslog`). */
  readonly base: string;
  /** The log root's minCSN: the log holds every change after it (absent while nothing was logged). */
  readonly minCsn: string | null;
}
