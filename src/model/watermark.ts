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
