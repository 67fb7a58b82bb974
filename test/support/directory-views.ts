/**
 * Directory views for tests: the view the gateway would serve over some
 * principals, built the one way production builds it (DirectoryView.create).
 */
import type { AutocompleteWorker } from '../../src/directory/autocomplete/index.js';
import { DirectoryView } from '../../src/directory/directory-view.js';
import type { PrincipalRecord } from '../../src/model/principal.js';
import { snapshotOf } from './principals.js';

export interface ViewSetup {
  /** Each connection's NetBIOS domain name, as its snapshot has it (default: none known). */
  readonly netbios?: ReadonlyMap<string, string | null>;
  /** The mail domain each connection serves (default: none). */
  readonly domains?: ReadonlyMap<string, string>;
  /** The worker that builds large autocomplete indexes (default: none, all on this thread). */
  readonly worker?: AutocompleteWorker;
}

/** The view of `records`, one snapshot per connection they name, in the order given. */
export async function viewOf(
  records: readonly PrincipalRecord[],
  setup: ViewSetup = {},
): Promise<DirectoryView> {
  const byConnection = new Map<string, PrincipalRecord[]>();
  for (const p of records) {
    const own = byConnection.get(p.connectionId);
    if (own) own.push(p);
    else byConnection.set(p.connectionId, [p]);
  }
  const snapshots = [...byConnection].map(([connectionId, own]) =>
    snapshotOf(connectionId, own, { netbiosName: setup.netbios?.get(connectionId) ?? null }),
  );
  return DirectoryView.create({ snapshots, connectionDomains: setup.domains ?? new Map() }, setup.worker);
}
