/** A connection's settings as stored (shared by every node of a cluster). */

export type TlsMode = 'NONE' | 'STARTTLS' | 'LDAPS';

/** Per-connection overrides of what is read; absent fields use the flavour's defaults. */
export interface ReadOverrides {
  readonly userFilter?: string;
  readonly groupFilter?: string;
  readonly contactFilter?: string;
  readonly attributes?: Partial<Record<MappedAttribute, string>>;
  /**
   * The NetBIOS domain name used for NTLM names (`NETBIOS\user`). Active
   * Directory states its own (read from the configuration partition); other
   * servers have none unless set here. When set, it wins over AD's.
   */
  readonly netbiosName?: string;
}

export type MappedAttribute =
  | 'guid'
  | 'displayName'
  | 'mail'
  | 'proxyAddresses'
  | 'samAccountName'
  | 'userPrincipalName'
  | 'userAccountControl'
  | 'member';

export interface ConnectionRecord {
  readonly id: string;
  readonly name: string;
  /** Lower-case DNS domain. */
  readonly domain: string;
  readonly searchBase: string;
  readonly servers: readonly string[];
  readonly tls: TlsMode;
  readonly caCertificate: string | null;
  /** Verify the directory's certificate (default true). */
  readonly tlsVerify: boolean;
  readonly bindDn: string | null;
  /** AES-256-GCM sealed bind password (see store/secret-box.ts); never leaves the store layer in clear except to bind. */
  readonly bindPasswordSealed: string | null;
  readonly includeContacts: boolean;
  readonly schedule: string;
  readonly enabled: boolean;
  /** Share of the cache a sync may remove before it is held (default from DIRGATE_DELETE_THRESHOLD). */
  readonly deleteThreshold: number | null;
  readonly overrides: ReadOverrides;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const DEFAULT_SCHEDULE = '*/30 * * * *';
