/**
 * Adding, changing, deleting and testing connections. Validates first and
 * writes once, so bad input changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { testConnection as runConnectionTest } from '../ldap/index.js';
import type { ConnectionTestReport, LdapLimits } from '../ldap/types.js';
import type { ConnectionRecord } from '../model/connection.js';
import { normalizeDn } from '../model/dn.js';
import { NotFoundError, ValidationError } from '../model/errors.js';
import { bindEndpoint, keytabEndpoint, SealedSecretError, type SecretBox } from '../store/secret-box.js';
import type { SettingsStore } from '../store/settings-store.js';
import {
  type ConnectionInput,
  DEFAULT_MIN_SCHEDULE_INTERVAL_MS,
  type InputRules,
  type StoredSecrets,
  type ValidConnection,
  validateConnection,
} from './connection-input.js';
import { ldapSettingsOf } from './ldap-settings.js';
import type { SyncEngine } from './sync-engine.js';

export interface ConnectionServiceDeps {
  readonly settings: SettingsStore;
  readonly box: SecretBox;
  readonly engine: SyncEngine;
  readonly limits: LdapLimits;
  /** The shortest interval between two scheduled runs a schedule entered may ask for. */
  readonly minScheduleIntervalMs?: number;
  /** This node's name, recorded in the tombstones of the connections it deletes. */
  readonly nodeName: string;
  /** Called after any change, so schedules and other nodes follow. */
  readonly onChange: (connectionId: string, change: 'added' | 'updated' | 'deleted') => void;
}

type NewConnectionInput = ConnectionInput & { name: string; domain: string; searchBase: string };

/** The fields of an endpoint (bindEndpoint) as an administrator names them. */
const ENDPOINT_FIELDS = [
  'servers',
  'domain',
  'tls',
  'tlsVerify',
  'caCertificate',
  'bindDn',
  'allowPlaintextBind',
] as const;

/**
 * The update rule of a stored password: kept only while the connection binds where and how it
 * did when the password was given. A new server, TLS mode, verification, CA bundle, bind name or
 * (for SRV discovery) domain with a stored password needs `bindPassword` again (a new one, or ""
 * to bind without one); otherwise a holder of the admin token could point the connection at a
 * host of theirs and receive the password at the next sync. Throws ValidationError on
 * `bindPassword` (reason PASSWORD_REQUIRED) naming what changed.
 */
export function requirePasswordForNewEndpoint(
  current: ConnectionRecord,
  next: ValidConnection,
  bindPassword: string | null | undefined,
): void {
  if (current.bindPasswordSealed === null) return;
  // A KERBEROS connection binds with no password: the stored one is dropped, not sent anywhere.
  if (next.auth === 'KERBEROS') return;
  if (bindPassword !== undefined && bindPassword !== null) return;
  if (bindEndpoint(current) === bindEndpoint(next)) return;
  const changed = ENDPOINT_FIELDS.filter((f) => {
    if (f === 'domain') return next.servers.length === 0 && current.domain !== next.domain;
    return JSON.stringify(current[f]) !== JSON.stringify(next[f]);
  });
  throw new ValidationError(
    'bindPassword',
    `${changed.join(', ')} changed where or how the connection binds: give the bind password again ` +
      '(or "" to bind without one); the stored one is kept only for the settings it was given with',
    'PASSWORD_REQUIRED',
  );
}

/** The fields of a KERBEROS connection's endpoint (keytabEndpoint) as an administrator names them. */
const KEYTAB_ENDPOINT_FIELDS = [
  'servers',
  'domain',
  'tls',
  'tlsVerify',
  'caCertificate',
  'allowPlaintextBind',
  'kdcs',
] as const;

/**
 * The password rule for a stored keytab (#17): kept only while the connection authenticates
 * where and how it did when the keytab was given, KDCs included (each login shows a KDC proof of
 * the key). Otherwise `keytab` is needed again: ValidationError on `keytab`, KEYTAB_REQUIRED.
 */
export function requireKeytabForNewEndpoint(
  current: ConnectionRecord,
  next: ValidConnection,
  keytab: string | null | undefined,
): void {
  if (current.keytabSealed === null || next.auth !== 'KERBEROS') return;
  if (keytab !== undefined && keytab !== null) return;
  if (keytabEndpoint(current) === keytabEndpoint(next)) return;
  const changed = KEYTAB_ENDPOINT_FIELDS.filter((f) => {
    if (f === 'domain') return next.servers.length === 0 && current.domain !== next.domain;
    return JSON.stringify(current[f]) !== JSON.stringify(next[f]);
  });
  throw new ValidationError(
    'keytab',
    `${changed.join(', ')} changed where or how the connection authenticates: give the keytab again; ` +
      'the stored one is kept only for the settings it was given with',
    'KEYTAB_REQUIRED',
  );
}

/** What a stored connection holds that an update may keep: its keytab, while it stays KERBEROS. */
function storedSecrets(current: ConnectionRecord): StoredSecrets {
  return current.auth === 'KERBEROS'
    ? { hasKeytab: current.keytabSealed !== null, keytabPrincipal: current.keytabPrincipal }
    : { hasKeytab: false, keytabPrincipal: null };
}

/** The domain names the mail domain a connection serves: another one is another connection. */
function refuseDomainChange(input: ConnectionInput): void {
  if (input.domain !== undefined && input.domain !== null) {
    throw new ValidationError(
      'domain',
      'cannot be changed; add a connection for the other domain',
      'IMMUTABLE',
    );
  }
}

/**
 * A stored connection with an update's fields over it: fields left out (or null) keep their
 * value. The domain is the stored one (refuseDomainChange).
 */
function mergeUpdate(current: ConnectionRecord, input: ConnectionInput): NewConnectionInput {
  // A KERBEROS connection stays one until auth says otherwise; the others follow the bind name,
  // as they did before auth existed.
  const auth = input.auth ?? (current.auth === 'KERBEROS' ? 'KERBEROS' : null);
  // Switching to a method drops what belongs to the old one (bind name, KDCs), unless given now.
  const keepsBindDn = auth !== 'KERBEROS' && input.auth !== 'ANONYMOUS';
  const keepsKdcs = auth === 'KERBEROS' && current.auth === 'KERBEROS';
  return {
    auth,
    keytab: input.keytab,
    kdcs: input.kdcs ?? (keepsKdcs ? current.kdcs : null),
    name: input.name ?? current.name,
    domain: current.domain,
    searchBase: input.searchBase ?? current.searchBase,
    servers: input.servers ?? current.servers,
    tls: input.tls ?? current.tls,
    caCertificate: input.caCertificate ?? current.caCertificate,
    tlsVerify: input.tlsVerify ?? current.tlsVerify,
    allowPlaintextBind: input.allowPlaintextBind ?? current.allowPlaintextBind,
    bindDn: input.bindDn ?? (keepsBindDn ? current.bindDn : null),
    includeContacts: input.includeContacts ?? current.includeContacts,
    schedule: input.schedule ?? current.schedule,
    // The stored null (off) is entered as '' (off): null in an update means "unchanged".
    incrementalSchedule: input.incrementalSchedule ?? current.incrementalSchedule ?? '',
    enabled: input.enabled ?? current.enabled,
    deleteThreshold: input.deleteThreshold ?? current.deleteThreshold,
    userFilter: input.userFilter ?? current.overrides.userFilter ?? null,
    groupFilter: input.groupFilter ?? current.overrides.groupFilter ?? null,
    contactFilter: input.contactFilter ?? current.overrides.contactFilter ?? null,
    netbiosName: input.netbiosName ?? current.overrides.netbiosName ?? null,
    bindPassword: input.bindPassword,
  };
}

export class ConnectionService {
  constructor(private readonly deps: ConnectionServiceDeps) {}

  list(): Promise<ConnectionRecord[]> {
    return this.deps.settings.listConnections();
  }

  get(id: string): Promise<ConnectionRecord | undefined> {
    return this.deps.settings.getConnection(id);
  }

  /**
   * A connection this node still serves from its cache though the settings
   * store lost it (no tombstone), as last listed; undefined for any other.
   */
  orphaned(id: string): ConnectionRecord | undefined {
    return this.deps.engine.orphanedConnection(id);
  }

  async require(id: string): Promise<ConnectionRecord> {
    const c = await this.get(id);
    if (!c) throw new NotFoundError('connection', id);
    return c;
  }

  async add(input: NewConnectionInput): Promise<ConnectionRecord> {
    const { valid, keytab } = validateConnection(input, this.rules());
    await this.assertUniqueBase(valid, null);
    const now = new Date().toISOString();
    const id = randomUUID();
    const record: ConnectionRecord = {
      id,
      ...valid,
      bindPasswordSealed:
        valid.auth !== 'KERBEROS' && input.bindPassword
          ? this.deps.box.seal(input.bindPassword, { id, ...valid })
          : null,
      keytabSealed: keytab ? this.deps.box.sealKeytab(keytab.bytes, { id, ...valid }) : null,
      createdAt: now,
      updatedAt: now,
    };
    await this.deps.settings.putConnection(record);
    this.deps.onChange(record.id, 'added');
    return record;
  }

  /**
   * Fields left out (or null) keep their value; an empty bindPassword removes it. A change of
   * where or how the connection binds (requirePasswordForNewEndpoint) must come with the password
   * again, and for a KERBEROS connection with the keytab again (requireKeytabForNewEndpoint).
   * Switching auth drops the old method's secret: to KERBEROS the password, away from it the keytab.
   */
  async update(id: string, input: ConnectionInput): Promise<ConnectionRecord> {
    refuseDomainChange(input);
    const current = await this.require(id);
    const merged = mergeUpdate(current, input);
    // The interval is checked only for a schedule entered now: a stored one stays editable after
    // the node's minimum was raised.
    const { valid, keytab } = validateConnection(
      merged,
      input.schedule ? this.rules() : { minScheduleIntervalMs: 0 },
      storedSecrets(current),
    );
    await this.assertUniqueBase(valid, id);
    if (input.auth !== 'ANONYMOUS') requirePasswordForNewEndpoint(current, valid, input.bindPassword);
    requireKeytabForNewEndpoint(current, valid, input.keytab);
    let sealed = current.bindPasswordSealed;
    if (valid.auth === 'KERBEROS' || input.auth === 'ANONYMOUS' || input.bindPassword === '') sealed = null;
    else if (input.bindPassword) sealed = this.deps.box.seal(input.bindPassword, { id, ...valid });
    let keytabSealed = valid.auth === 'KERBEROS' ? current.keytabSealed : null;
    if (keytab) keytabSealed = this.deps.box.sealKeytab(keytab.bytes, { id, ...valid });
    const record: ConnectionRecord = {
      ...current,
      ...valid,
      bindPasswordSealed: sealed,
      keytabSealed,
      updatedAt: new Date().toISOString(),
    };
    await this.deps.settings.putConnection(record);
    this.deps.onChange(id, 'updated');
    return record;
  }

  /**
   * Writes the tombstone first (the deletion that every node acts on), then
   * removes the settings, then every cached entry and run. A connection whose
   * settings are gone but whose cache this node still holds can be deleted
   * too: that is how an administrator clears a cache kept after settings loss.
   */
  async delete(id: string): Promise<boolean> {
    const record = await this.get(id);
    if (!record && !this.deps.engine.hasState(id)) throw new NotFoundError('connection', id);
    const deletedAt = new Date().toISOString();
    await this.deps.settings.putTombstone({ connectionId: id, deletedAt, node: this.deps.nodeName });
    await this.deps.settings.deleteConnection(id);
    await this.deps.engine.removeConnection(id);
    this.deps.onChange(id, 'deleted');
    return true;
  }

  /** Connects, binds and counts with these settings; stores nothing. */
  test(input: NewConnectionInput): Promise<ConnectionTestReport> {
    const { valid, keytab } = validateConnection(input, this.rules());
    return this.runTest(valid, input.bindPassword ?? null, keytab?.bytes ?? null);
  }

  /**
   * Tests a stored connection with an update's fields over it, merged as update merges them;
   * stores nothing. Without `bindPassword` the stored password is used, and only while the merged
   * settings bind where and how the stored ones do: otherwise PASSWORD_REQUIRED, as update
   * refuses it (requirePasswordForNewEndpoint), so a test cannot send it to another host either.
   */
  async testStored(id: string, input: ConnectionInput): Promise<ConnectionTestReport> {
    refuseDomainChange(input);
    const current = await this.require(id);
    const { valid, keytab } = validateConnection(
      mergeUpdate(current, input),
      input.schedule ? this.rules() : { minScheduleIntervalMs: 0 },
      storedSecrets(current),
    );
    if (input.auth !== 'ANONYMOUS') requirePasswordForNewEndpoint(current, valid, input.bindPassword);
    requireKeytabForNewEndpoint(current, valid, input.keytab);
    let password = input.bindPassword ?? null;
    const usesStoredPassword = valid.auth !== 'KERBEROS' && input.auth !== 'ANONYMOUS';
    if (password === null && current.bindPasswordSealed !== null && usesStoredPassword) {
      // Reached only with the stored endpoint (checked just above); opened for the stored record's
      // own binding, so a record edited outside the API is refused here, before anything connects.
      password = this.openStored({ ...current, bindPasswordSealed: current.bindPasswordSealed });
    }
    let keytabBytes: Uint8Array | null = keytab?.bytes ?? null;
    if (keytabBytes === null && valid.auth === 'KERBEROS' && current.keytabSealed !== null) {
      // As the password: the stored endpoint only (checked above), opened for the record's own binding.
      keytabBytes = this.openStoredKeytab({ ...current, keytabSealed: current.keytabSealed });
    }
    return this.runTest(valid, password, keytabBytes);
  }

  private runTest(
    valid: ValidConnection,
    bindPassword: string | null,
    keytab: Uint8Array | null,
  ): Promise<ConnectionTestReport> {
    return runConnectionTest(ldapSettingsOf(valid, { bindPassword, keytab }), this.deps.limits);
  }

  private openStoredKeytab(record: ConnectionRecord & { readonly keytabSealed: string }): Buffer {
    return openForTest(() => this.deps.box.openKeytab(record.keytabSealed, record), {
      field: 'keytab',
      what: 'keytab',
      give: 'keytab',
      reason: 'KEYTAB_UNREADABLE',
    });
  }

  private openStored(record: ConnectionRecord & { readonly bindPasswordSealed: string }): string {
    return openForTest(() => this.deps.box.open(record.bindPasswordSealed, record), {
      field: 'bindPassword',
      what: 'bind password',
      give: 'password',
      reason: 'PASSWORD_UNREADABLE',
    });
  }

  private rules(): InputRules {
    return { minScheduleIntervalMs: this.deps.minScheduleIntervalMs ?? DEFAULT_MIN_SCHEDULE_INTERVAL_MS };
  }

  private async assertUniqueBase(valid: ValidConnection, selfId: string | null): Promise<void> {
    const base = normalizeDn(valid.searchBase);
    for (const other of await this.deps.settings.listConnections()) {
      if (other.id !== selfId && other.domain === valid.domain && normalizeDn(other.searchBase) === base) {
        throw new ValidationError(
          'searchBase',
          `"${valid.searchBase}" is already used by connection "${other.name}" in domain ${valid.domain}`,
          'DUPLICATE_SEARCH_BASE',
        );
      }
    }
  }
}

/** Opens a stored secret for a test; one that does not open is the field's refusal, saying why. */
function openForTest<T>(
  open: () => T,
  refusal: { readonly field: string; readonly what: string; readonly give: string; readonly reason: string },
): T {
  try {
    return open();
  } catch (err) {
    const why =
      err instanceof SealedSecretError && err.kind === 'BINDING'
        ? "does not match this connection's settings (edited outside the API?)"
        : "cannot be decrypted with this node's secret key";
    throw new ValidationError(
      refusal.field,
      `the stored ${refusal.what} ${why}: give the ${refusal.give} to test`,
      refusal.reason,
    );
  }
}
