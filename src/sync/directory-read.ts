/**
 * One run's reading: opens a session on the first server that binds, reads
 * users, groups and (when asked) contacts concurrently, each kind on its own
 * connection to that same server, and builds the snapshot as pages arrive.
 * The session is closed before the snapshot is handed back.
 */
import { openSession } from '../ldap/index.js';
import type { DirectoryFlavour, LdapLimits, LdapSettings } from '../ldap/types.js';
import type { PrincipalKind, Snapshot } from '../model/principal.js';
import { SnapshotBuilder } from './snapshot-builder.js';

export interface DirectoryReadOptions {
  readonly connectionId: string;
  readonly runId: string;
  readonly settings: LdapSettings;
  readonly limits: LdapLimits;
  readonly signal: AbortSignal;
  /** Called once the session is bound, before reading. */
  readonly onBound: (server: string, flavour: DirectoryFlavour) => void;
  /** Called with what the run's log should warn about (SRV targets refused as outside the domain). */
  readonly onWarning?: (message: string) => void;
  /** Called with the number of entries read, at most every `progressIntervalMs`. */
  readonly onProgress: (entries: number) => void;
  readonly progressIntervalMs: number;
  /** Called once everything is read, before the snapshot is built. */
  readonly onRead: (stats: ReadTotals) => void;
}

interface ReadTotals {
  readonly entries: number;
  readonly skipped: number;
  readonly rangedRequests: number;
}

export interface DirectoryReadResult {
  readonly snapshot: Snapshot;
  readonly server: string;
  /** Member DNs that named nothing the snapshot holds (outside the search base, or filtered out). */
  readonly unresolvedMembers: number;
}

export async function readDirectory(options: DirectoryReadOptions): Promise<DirectoryReadResult> {
  const { settings, limits, signal } = options;
  const session = await openSession(settings, limits, signal);
  const builder = new SnapshotBuilder(options.connectionId);
  try {
    for (const warning of session.warnings) options.onWarning?.(warning);
    options.onBound(session.server, session.flavour);
    const kinds: PrincipalKind[] = ['USER', 'GROUP'];
    if (settings.includeContacts) kinds.push('CONTACT');
    let lastProgress = Date.now();
    const results = await Promise.all(
      kinds.map((kind) =>
        session.read(
          kind,
          (entries) => {
            builder.add(entries);
            if (Date.now() - lastProgress >= options.progressIntervalMs) {
              lastProgress = Date.now();
              options.onProgress(builder.size);
            }
          },
          signal,
        ),
      ),
    );
    options.onRead({
      entries: builder.size,
      skipped: results.reduce((n, r) => n + r.skipped, 0),
      rangedRequests: results.reduce((n, r) => n + r.rangedRequests, 0),
    });
  } finally {
    await session.close().catch(() => {});
  }
  const snapshot = builder.build({
    connectionId: options.connectionId,
    runId: options.runId,
    createdAt: new Date().toISOString(),
    netbiosName: session.netbiosName,
  });
  return { snapshot, server: session.server, unresolvedMembers: builder.unresolvedMembers };
}
