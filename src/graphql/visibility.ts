/**
 * What the reader role sees. A reader token sits in the mail gateway's UI
 * (autocomplete, principals, groups and their members), its rule editor
 * (groups, membership) and monitoring (connection status, counts, runs'
 * status, phase and times): none of them needs how the gateway binds or
 * filters, or what a directory server answered when a run failed, and each
 * of those tells someone who holds a reader token where to aim (the bind
 * account, the directory's layout, its software and its error texts).
 * So, for the reader role:
 *
 * - `Connection.bindDn`, `keytabPrincipal` (the Kerberos bind account) and
 *   the filters (`userFilter`, `groupFilter`, `contactFilter`) are null;
 *   `auth`, `hasKeytab` and `kdcs` stay, as `hasBindPassword` and `servers`
 *   do (monitoring may show how a connection authenticates; `kdcs` is a
 *   non-null list, and a reader sees the LDAP servers anyway);
 * - a failed run's `error` is a generic text naming the phase it failed in,
 *   wherever a run appears (a connection's last runs, `syncRuns`, the
 *   `syncEvents` subscription); a held run's text is the gateway's own
 *   (counts and the threshold) and stays;
 * - a run's `fallbackMessage` (the directory's words for why an incremental
 *   run read in full) is null; its `fallbackReason` code stays.
 *
 * The admin role sees everything. Fields keep their types: each hidden one
 * was nullable already.
 */
import type { Role } from './auth.js';

/** The value for an administrator, null for anyone else. */
export function adminOnly<T>(role: Role, value: T | null): T | null {
  return role === 'ADMIN' ? value : null;
}

const PHASE_WORDS: Readonly<Record<string, string>> = {
  CONNECTING: 'connecting to the directory',
  READING: 'reading the directory',
  BUILDING: 'building the snapshot',
  SAVING: 'saving the snapshot',
  DETECTING: 'detecting duplicates',
};

/** What a run's `error` says to the role asking. */
export function runErrorFor(
  role: Role,
  run: { readonly status: string; readonly error: string | null; readonly failedPhase: string | null },
): string | null {
  if (role === 'ADMIN' || run.error === null || run.status !== 'FAILED') return run.error;
  const phase = run.failedPhase === null ? undefined : PHASE_WORDS[run.failedPhase];
  return `synchronization failed${phase ? ` while ${phase}` : ''} (ask an administrator for details)`;
}
