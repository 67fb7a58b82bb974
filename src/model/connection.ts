/** A connection's settings as stored (shared by every node of a cluster). */

export type TlsMode = 'NONE' | 'STARTTLS' | 'LDAPS';

/** How the gateway authenticates to the directory. */
export type AuthMethod = 'ANONYMOUS' | 'SIMPLE' | 'KERBEROS';

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

/** Where and how a connection reaches and reads its directory: stored as settings, read by the LDAP layer. */
export interface DirectoryAccess {
  /** Lower-case DNS domain, used for SRV discovery when `servers` is empty. */
  readonly domain: string;
  readonly searchBase: string;
  /** Explicit ldap:// or ldaps:// URLs, tried in order. Empty: SRV discovery. */
  readonly servers: readonly string[];
  readonly tls: TlsMode;
  /** PEM bundle, when set the only trust anchors of this connection's TLS (the system's CAs are not used). */
  readonly caCertificate: string | null;
  /** Verify the directory's certificate (default true). */
  readonly tlsVerify: boolean;
  /**
   * ANONYMOUS: no credentials; SIMPLE: bindDn and the sealed password; KERBEROS: SASL GSSAPI with
   * the key in the sealed keytab (no password). Records stored before Kerberos read as SIMPLE when
   * they have a bindDn, ANONYMOUS otherwise.
   */
  readonly auth: AuthMethod;
  /** Null: anonymous bind (and always null for KERBEROS). */
  readonly bindDn: string | null;
  /** KERBEROS: the principal the keytab holds keys for (`svc-dirgate@CORP.TEST`); null otherwise. */
  readonly keytabPrincipal: string | null;
  /** KERBEROS: KDCs (`host` or `host:port`) tried in order; empty: DNS SRV `_kerberos._tcp.<REALM>`. */
  readonly kdcs: readonly string[];
  /**
   * Whether a password may be sent without TLS (plain `ldap://`, mode NONE).
   * False by default, as Samba and hardened Windows DCs refuse such binds:
   * the bind step fails before the password leaves the process.
   */
  readonly allowPlaintextBind: boolean;
  readonly includeContacts: boolean;
  readonly overrides: ReadOverrides;
}

export interface ConnectionRecord extends DirectoryAccess {
  readonly id: string;
  readonly name: string;
  /** AES-256-GCM sealed bind password (see store/secret-box.ts); never leaves the store layer in clear except to bind. */
  readonly bindPasswordSealed: string | null;
  /** KERBEROS: the keytab file, sealed like the password (bound to the same settings); null otherwise. */
  readonly keytabSealed: string | null;
  readonly schedule: string;
  /**
   * Cron expression of the incremental runs between the full ones (`schedule`); null: full runs
   * only. Runs only where the directory tracks changes (the first run of each finds out).
   */
  readonly incrementalSchedule: string | null;
  readonly enabled: boolean;
  /** Share of the cache a sync may remove before it is held (default from DIRGATE_DELETE_THRESHOLD). */
  readonly deleteThreshold: number | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const DEFAULT_SCHEDULE = '*/30 * * * *';
/** Every minute: a change reaches the gateway within about a minute, at the cost of the change. */
export const DEFAULT_INCREMENTAL_SCHEDULE = '* * * * *';
