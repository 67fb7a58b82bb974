/**
 * A directory session: the sync engine's one way into a directory.
 *
 * The first candidate server that connects and binds serves the whole
 * session; every read runs against that server (never another one mid-run,
 * where replication lag could mix two states of the directory). Each read
 * uses a connection of its own, so kinds can be read in parallel.
 */
import type { PrincipalKind } from '../model/principal.js';
import type { Watermark } from '../model/watermark.js';
import { idOfDnIn } from './changes/access-log.js';
import { type ChangeSetRead, readChangeSet } from './changes/change-set.js';
import { readDeletions } from './changes/deletions.js';
import { readDirSyncChanges, startDirSync } from './changes/dirsync-read.js';
import { WatermarkRefusedError } from './changes/errors.js';
import { assertWithinTombstoneLifetime } from './changes/tombstone-lifetime.js';
import { type ChangeTracking, changeTracking } from './changes/tracking.js';
import { watermarkProblem } from './changes/watermark.js';
import { type LdapConnection, openConnection } from './client.js';
import {
  AbortedError,
  BindError,
  ConnectError,
  LdapError,
  NoServerAvailableError,
  type ServerAttempt,
  toLdapError,
} from './errors.js';
import { EntryBudget } from './limits.js';
import { type ReadStats, readKind } from './reader.js';
import { type RootDse, readNetbiosName, readRootDse } from './root-dse.js';
import { type SchemaMap, schemaFor } from './schema-map.js';
import { candidateServers } from './servers.js';
import type { DirectoryFlavour, KnownIds, LdapLimits, LdapSettings, RawEntry } from './types.js';

export interface DirectorySession {
  /** URL of the server chosen. */
  readonly server: string;
  readonly flavour: DirectoryFlavour;
  readonly netbiosName: string | null;
  /** For the run's log: what discovery refused (SRV targets outside the domain); empty normally. */
  readonly warnings: readonly string[];
  /**
   * Reads one kind fully; may be called concurrently for different kinds:
   * each call uses its own connection to the SAME server. onPage gets
   * entries page by page so the caller can process while reading continues;
   * the next page is asked for once onPage's promise settles.
   */
  read(
    kind: PrincipalKind,
    onPage: (entries: RawEntry[]) => void | Promise<void>,
    signal?: AbortSignal,
  ): Promise<ReadStats>;
  /**
   * Whether this server can say what changed, and where it stands now: what a
   * full read keeps as its snapshot's watermark, read BEFORE the read starts.
   * `previous` (the served snapshot's watermark) lets an OpenLDAP server scan
   * only what was stamped since.
   */
  tracking(
    previous: Watermark | null,
    kinds: readonly PrincipalKind[],
    signal?: AbortSignal,
  ): Promise<ChangeTracking>;
  /**
   * What changed since `since`, deletions included, decoded as a full read
   * decodes it. Throws WatermarkRefusedError (its `reason` says why) when the
   * watermark cannot be used here: the caller runs a full read instead.
   */
  readChanges(options: ChangeReadOptions): Promise<ChangeSetRead>;
  /** The groups (whole entries) whose member values name any of these DNs. */
  readGroupsNaming(dns: readonly string[], signal?: AbortSignal): Promise<RawEntry[]>;
  close(): Promise<void>;
}

export interface ChangeReadOptions {
  readonly since: Watermark;
  readonly kinds: readonly PrincipalKind[];
  /** Every id (RawEntry.guid form) of the snapshot the watermark belongs to. */
  readonly knownGuids: KnownIds;
  /** That snapshot's records (id and DN): what a deletion logged by DN was (OpenLDAP's access log). */
  readonly records: readonly { readonly guid: string; readonly dn: string }[];
  /** The id of the record with exactly this DN, where the caller keeps such a lookup (else `records` are indexed). */
  readonly guidOfDn?: ((dn: string) => string | undefined) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** An exact lookup kept by the caller, then (other spellings, or none kept) the records indexed on first use. */
function exactFirst(
  exact: ((dn: string) => string | undefined) | undefined,
  indexed: (dn: string) => string | undefined,
): (dn: string) => string | undefined {
  return exact ? (dn) => exact(dn) ?? indexed(dn) : indexed;
}

/** Member DNs per group search: an OR of this many equality terms is a small request. */
const DNS_PER_GROUP_SEARCH = 50;

/** An assertion value for a filter: the characters RFC 4515 reserves escaped, the rest as it is (LAB.md). */
function filterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Errors that would repeat on every server of the domain and cost something
 * to repeat: a rejected password counts towards account lockout on each DC.
 */
function isAccountLevel(err: LdapError): boolean {
  // A refused plaintext bind is the connection's setting: every server of it would be refused too.
  return (
    err instanceof BindError &&
    (err.code === 'INVALID_CREDENTIALS' ||
      err.code === 'EMPTY_PASSWORD' ||
      err.code === 'PLAINTEXT_BIND_REFUSED')
  );
}

/**
 * Opens a session: the configured servers in order, or those SRV discovery
 * finds. Throws DnsDiscoveryError when discovery fails, BindError at once on
 * rejected credentials (trying other DCs would only lock the account out
 * sooner), AbortedError on abort, else NoServerAvailableError listing every
 * server tried and why.
 */
export async function openSession(
  settings: LdapSettings,
  limits: LdapLimits,
  signal?: AbortSignal,
): Promise<DirectorySession> {
  const { urls, warnings } = await candidateServers(settings, limits, signal);
  const attempts: ServerAttempt[] = [];
  const causes: LdapError[] = [];
  // One session is one run: every connection it opens counts against the same entries.
  const budget = new EntryBudget(limits);
  for (const url of urls) {
    if (signal?.aborted) throw new AbortedError('TCP', url);
    try {
      const connection = await openConnection(url, settings, limits, { signal, budget });
      try {
        const rootDse = await readRootDse(connection, signal);
        const override = settings.overrides.netbiosName?.trim();
        const netbiosName = override ? override : await readNetbiosName(connection, rootDse, signal);
        const session = new Session(
          connection.url,
          settings,
          limits,
          rootDse,
          netbiosName,
          connection,
          budget,
        );
        session.warnings = warnings;
        return session;
      } catch (err) {
        await connection.close();
        throw err;
      }
    } catch (err) {
      const mapped = toLdapError(err, 'TCP', url, [settings.bindPassword]);
      if (mapped instanceof AbortedError || isAccountLevel(mapped)) throw mapped;
      attempts.push({
        server: mapped.server ?? url,
        step: mapped.step,
        code: mapped.code,
        message: mapped.message,
      });
      causes.push(mapped);
    }
  }
  throw new NoServerAvailableError(attempts, causes);
}

class Session implements DirectorySession {
  readonly server: string;
  readonly flavour: DirectoryFlavour;
  readonly netbiosName: string | null;
  warnings: readonly string[] = [];
  private readonly settings: LdapSettings;
  private readonly limits: LdapLimits;
  private readonly rootDse: RootDse;
  private readonly schema: SchemaMap;
  private readonly searchBase: string;
  /** Bound connections not in use; the one that opened the session is the first. */
  private readonly idle: LdapConnection[];
  private readonly busy = new Set<LdapConnection>();
  /** Aborted by close(): stops reads still running. */
  private readonly closing = new AbortController();

  constructor(
    server: string,
    settings: LdapSettings,
    limits: LdapLimits,
    rootDse: RootDse,
    netbiosName: string | null,
    first: LdapConnection,
    private readonly budget: EntryBudget,
  ) {
    this.server = server;
    this.flavour = rootDse.flavour;
    this.netbiosName = netbiosName;
    this.settings = settings;
    this.limits = limits;
    this.rootDse = rootDse;
    this.schema = schemaFor(rootDse.flavour, settings.overrides);
    // An empty search base means the whole domain.
    this.searchBase = settings.searchBase.trim() || rootDse.defaultNamingContext || '';
    this.idle = [first];
  }

  read(
    kind: PrincipalKind,
    onPage: (entries: RawEntry[]) => void | Promise<void>,
    signal?: AbortSignal,
  ): Promise<ReadStats> {
    return this.withConnection(signal, (connection, combined) =>
      readKind({
        connection,
        kind,
        schema: this.schema,
        searchBase: this.searchBase,
        limits: this.limits,
        onPage,
        signal: combined,
      }),
    );
  }

  tracking(
    previous: Watermark | null,
    kinds: readonly PrincipalKind[],
    signal?: AbortSignal,
  ): Promise<ChangeTracking> {
    return this.withConnection(signal, async (connection, combined) => {
      const tracking = await changeTracking(connection, this.rootDse, this.searchBase, {
        limits: this.limits,
        sinceTime: previous?.kind === 'TIMESTAMP' ? previous.time : undefined,
        signal: combined,
      });
      const namingContext = this.rootDse.defaultNamingContext;
      if (!tracking.supported || tracking.watermark.kind !== 'USN' || !namingContext) return tracking;
      // Active Directory: DirSync where this account may use it, uSNChanged otherwise.
      const dirSync = await startDirSync({
        connection,
        namingContext,
        schema: this.schema,
        kinds,
        server: tracking.watermark.server,
        invocationId: tracking.watermark.invocationId,
        signal: combined,
      });
      return dirSync ? { supported: true, watermark: dirSync } : tracking;
    });
  }

  readChanges(options: ChangeReadOptions): Promise<ChangeSetRead> {
    const { since, kinds, knownGuids } = options;
    return this.withConnection(options.signal, async (connection, signal) => {
      if (since.kind !== 'DIRSYNC') {
        return readChangeSet({
          connection,
          rootDse: this.rootDse,
          schema: this.schema,
          searchBase: this.searchBase,
          limits: this.limits,
          kinds,
          watermark: since,
          knownGuids,
          idOfDn: exactFirst(options.guidOfDn, idOfDnIn(options.records)),
          signal,
        });
      }
      return this.readDirSync(connection, since, kinds, knownGuids, signal);
    });
  }

  async readGroupsNaming(dns: readonly string[], signal?: AbortSignal): Promise<RawEntry[]> {
    const found = new Map<string, RawEntry>();
    const attributes = this.schema.member;
    for (let at = 0; at < dns.length; at += DNS_PER_GROUP_SEARCH) {
      const terms = dns
        .slice(at, at + DNS_PER_GROUP_SEARCH)
        .flatMap((dn) => attributes.map((a) => `(${a}=${filterValue(dn)})`));
      await this.withConnection(signal, (connection, combined) =>
        readKind({
          connection,
          kind: 'GROUP',
          schema: this.schema,
          searchBase: this.searchBase,
          limits: this.limits,
          extraFilter: `(|${terms.join('')})`,
          onPage: (entries) => {
            for (const entry of entries) found.set(entry.guid, entry);
          },
          signal: combined,
        }),
      );
    }
    return [...found.values()];
  }

  /**
   * DirSync from the stored cookie. Without replication rights it asks with
   * OBJECT_SECURITY, which returns no tombstones: deletions are then found by
   * comparing ids. A refused cookie or DirSync refused altogether is a
   * WatermarkRefusedError, so that the run becomes a full one.
   */
  private async readDirSync(
    connection: LdapConnection,
    since: Extract<Watermark, { kind: 'DIRSYNC' }>,
    kinds: readonly PrincipalKind[],
    knownGuids: KnownIds,
    signal: AbortSignal,
  ): Promise<ChangeSetRead> {
    const tracking = await changeTracking(connection, this.rootDse, this.searchBase, {
      limits: this.limits,
      signal,
    });
    if (!tracking.supported) throw new WatermarkRefusedError('NOT_SUPPORTED', tracking.reason, this.server);
    const current = tracking.watermark;
    if (current.kind !== 'USN')
      throw new WatermarkRefusedError('KIND_CHANGED', 'this server does not do DirSync', this.server);
    // The cookie is the server's to judge; its server and database incarnation are ours.
    const problem = watermarkProblem(since, { ...current, kind: 'DIRSYNC', cookie: since.cookie });
    if (problem) throw new WatermarkRefusedError(problem.reason, problem.message, this.server);
    // A cookie older than the tombstone lifetime would miss deletions whose tombstones are gone.
    await assertWithinTombstoneLifetime(connection, this.rootDse, since, { signal });
    const answer = await readDirSyncChanges({
      connection,
      schema: this.schema,
      searchBase: this.searchBase,
      namingContext: this.rootDse.defaultNamingContext ?? this.searchBase,
      limits: this.limits,
      kinds,
      server: since.server,
      invocationId: since.invocationId,
      cookie: since.cookie,
      objectSecurity: since.objectSecurity === true ? true : 'AUTO',
      signal,
    });
    if (!answer.ok)
      throw new WatermarkRefusedError(
        answer.refusal === 'COOKIE_REFUSED' ? 'COOKIE_REFUSED' : 'NOT_SUPPORTED',
        answer.message,
        this.server,
      );
    const { changeSet } = answer;
    if (answer.tombstonesComplete) return { changeSet, deletions: 'TOMBSTONES', rangedRequests: 0 };
    // Without replication rights DirSync shows no tombstones: the ids are compared.
    const deletions = await readDeletions({
      connection,
      rootDse: this.rootDse,
      schema: this.schema,
      searchBase: this.searchBase,
      limits: this.limits,
      kinds,
      knownGuids,
      signal,
    });
    const deleted = new Set([...changeSet.deletedGuids, ...deletions.deletedGuids]);
    return {
      changeSet: {
        changed: changeSet.changed.filter((entry) => !deleted.has(entry.guid)),
        deletedGuids: [...deleted],
        watermark: changeSet.watermark,
      },
      deletions: deletions.method,
      rangedRequests: 0,
    };
  }

  /**
   * Runs `work` on a bound connection of the session's server: an idle one,
   * or a new one. Aborting (the caller's signal, or close()) kills the
   * connection at once, even while the caller's callbacks run.
   */
  private async withConnection<T>(
    signal: AbortSignal | undefined,
    work: (connection: LdapConnection, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const combined = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    if (combined.aborted) throw new AbortedError('SEARCH', this.server);
    const connection = await this.acquire(combined);
    const onAbort = (): void => connection.kill();
    combined.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await work(connection, combined);
      if (combined.aborted) throw new AbortedError('SEARCH', this.server);
      return result;
    } catch (err) {
      // A refusal is an answer, not a broken connection: the connection stays usable.
      if (!(err instanceof WatermarkRefusedError)) connection.kill();
      if (combined.aborted) throw new AbortedError('SEARCH', this.server);
      throw err instanceof LdapError
        ? err
        : toLdapError(err, 'SEARCH', this.server, [this.settings.bindPassword]);
    } finally {
      combined.removeEventListener('abort', onAbort);
      this.release(connection);
    }
  }

  async close(): Promise<void> {
    this.closing.abort();
    const all = [...this.idle, ...this.busy];
    this.idle.length = 0;
    this.busy.clear();
    await Promise.all(all.map((c) => c.close()));
  }

  private async acquire(signal: AbortSignal): Promise<LdapConnection> {
    let connection = this.idle.pop();
    while (connection?.isDead) connection = this.idle.pop();
    if (!connection) {
      try {
        connection = await openConnection(this.server, this.settings, this.limits, {
          signal,
          budget: this.budget,
        });
      } catch (err) {
        if (signal.aborted) throw new AbortedError('TCP', this.server);
        // The session's server stopped answering: say so, never fall over to another server mid-run.
        throw err instanceof LdapError
          ? err
          : new ConnectError('CONNECTION_FAILED', String(err), 'TCP', this.server);
      }
    }
    this.busy.add(connection);
    return connection;
  }

  private release(connection: LdapConnection): void {
    if (!this.busy.delete(connection)) return;
    if (!connection.isDead && !this.closing.signal.aborted) this.idle.push(connection);
    else void connection.close();
  }
}
