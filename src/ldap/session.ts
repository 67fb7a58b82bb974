/**
 * A directory session: the sync engine's one way into a directory.
 *
 * The first candidate server that connects and binds serves the whole
 * session; every read runs against that server (never another one mid-run,
 * where replication lag could mix two states of the directory). Each read
 * uses a connection of its own, so kinds can be read in parallel.
 */
import type { PrincipalKind } from '../model/principal.js';
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
import type { DirectoryFlavour, LdapLimits, LdapSettings, RawEntry } from './types.js';

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
  close(): Promise<void>;
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
    this.schema = schemaFor(rootDse.flavour, settings.overrides);
    // An empty search base means the whole domain.
    this.searchBase = settings.searchBase.trim() || rootDse.defaultNamingContext || '';
    this.idle = [first];
  }

  async read(
    kind: PrincipalKind,
    onPage: (entries: RawEntry[]) => void | Promise<void>,
    signal?: AbortSignal,
  ): Promise<ReadStats> {
    const combined = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    if (combined.aborted) throw new AbortedError('SEARCH', this.server);
    const connection = await this.acquire(combined);
    // Close at once on abort, even while the caller's onPage is running: nothing waits for the server.
    const onAbort = (): void => connection.kill();
    combined.addEventListener('abort', onAbort, { once: true });
    try {
      const stats = await readKind({
        connection,
        kind,
        schema: this.schema,
        searchBase: this.searchBase,
        limits: this.limits,
        onPage,
        signal: combined,
      });
      if (combined.aborted) throw new AbortedError('SEARCH', this.server);
      return stats;
    } catch (err) {
      connection.kill();
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
