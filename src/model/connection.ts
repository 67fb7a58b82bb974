/** A connection's settings as stored (shared by every node of a cluster). */
import type { ReadOverrides, TlsMode } from '../ldap/types.js';

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
