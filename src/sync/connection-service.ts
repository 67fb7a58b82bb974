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
import { bindEndpoint, SealedSecretError, type SecretBox } from '../store/secret-box.js';
import type { SettingsStore } from '../store/settings-store.js';
import {
  type ConnectionInput,
  DEFAULT_MIN_SCHEDULE_INTERVAL_MS,
  type InputRules,
  type ValidConnection,
  validateNew,
} from './connection-input.js';
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
  return {
    name: input.name ?? current.name,
    domain: current.domain,
    searchBase: input.searchBase ?? current.searchBase,
    servers: input.servers ?? current.servers,
    tls: input.tls ?? current.tls,
    caCertificate: input.caCertificate ?? current.caCertificate,
    tlsVerify: input.tlsVerify ?? current.tlsVerify,
    allowPlaintextBind: input.allowPlaintextBind ?? current.allowPlaintextBind,
    bindDn: input.bindDn ?? current.bindDn,
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
    const valid = validateNew(input, this.rules());
    await this.assertUniqueBase(valid, null);
    const now = new Date().toISOString();
    const id = randomUUID();
    const record: ConnectionRecord = {
      id,
      ...valid,
      bindPasswordSealed: input.bindPassword
        ? this.deps.box.seal(input.bindPassword, { id, ...valid })
        : null,
      createdAt: now,
      updatedAt: now,
    };
    await this.deps.settings.putConnection(record);
    this.deps.onChange(record.id, 'added');
    return record;
  }

  /**
   * Fields left out (or null) keep their value; an empty bindPassword removes it. A change of
   * where or how the connection binds (passwordChangeRule) must come with the password again.
   */
  async update(id: string, input: ConnectionInput): Promise<ConnectionRecord> {
    refuseDomainChange(input);
    const current = await this.require(id);
    const merged = mergeUpdate(current, input);
    // The interval is checked only for a schedule entered now: a stored one stays editable after
    // the node's minimum was raised.
    const valid = validateNew(merged, input.schedule ? this.rules() : { minScheduleIntervalMs: 0 });
    await this.assertUniqueBase(valid, id);
    requirePasswordForNewEndpoint(current, valid, input.bindPassword);
    let sealed = current.bindPasswordSealed;
    if (input.bindPassword === '') sealed = null;
    else if (input.bindPassword) sealed = this.deps.box.seal(input.bindPassword, { id, ...valid });
    const record: ConnectionRecord = {
      ...current,
      ...valid,
      bindPasswordSealed: sealed,
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
    return this.runTest(validateNew(input, this.rules()), input.bindPassword ?? null);
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
    const valid = validateNew(
      mergeUpdate(current, input),
      input.schedule ? this.rules() : { minScheduleIntervalMs: 0 },
    );
    requirePasswordForNewEndpoint(current, valid, input.bindPassword);
    let password = input.bindPassword ?? null;
    if (password === null && current.bindPasswordSealed !== null) {
      // Reached only with the stored endpoint (checked just above); opened for the stored record's
      // own binding, so a record edited outside the API is refused here, before anything connects.
      password = this.openStored({ ...current, bindPasswordSealed: current.bindPasswordSealed });
    }
    return this.runTest(valid, password);
  }

  private runTest(valid: ValidConnection, bindPassword: string | null): Promise<ConnectionTestReport> {
    return runConnectionTest(
      {
        domain: valid.domain,
        searchBase: valid.searchBase,
        servers: valid.servers,
        tls: valid.tls,
        caCertificate: valid.caCertificate,
        tlsVerify: valid.tlsVerify,
        allowPlaintextBind: valid.allowPlaintextBind,
        bindDn: valid.bindDn,
        bindPassword,
        includeContacts: valid.includeContacts,
        overrides: valid.overrides,
      },
      this.deps.limits,
    );
  }

  private openStored(record: ConnectionRecord & { readonly bindPasswordSealed: string }): string {
    try {
      return this.deps.box.open(record.bindPasswordSealed, record);
    } catch (err) {
      const why =
        err instanceof SealedSecretError && err.kind === 'BINDING'
          ? "does not match this connection's settings (edited outside the API?)"
          : "cannot be decrypted with this node's secret key";
      throw new ValidationError(
        'bindPassword',
        `the stored bind password ${why}: give the password to test`,
        'PASSWORD_UNREADABLE',
      );
    }
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
